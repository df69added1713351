"""Issue 10, case 3 end to end: on the example's hypervisor, a VM behind the routed switch
(db01 behind vether0) has its policy loaded where pf sees routed traffic, on vether0 by its
address, and the main ruleset no longer passes the whole segment there.

Uses the hypervisor lab of ``test_hypervisor.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.lab.pytest_plugin import RebootInvariant
from tests.command import bsdprov
from tests.e2e import test_hypervisor as hv

pytestmark = pytest.mark.e2e

# The lab of test_hypervisor.py (module scope: brought up again for this module).
lab = hv.lab
fresh = hv.fresh


def test_a_routed_vms_policy_is_on_the_vether_and_the_segment_is_not_passed(
    fresh: Path,
    reboot_invariant: RebootInvariant,
) -> None:
    hv.deploy("--all", "-i", str(fresh))
    main = hv.ssh("hv1", "pfctl -sr")
    assert "pass on vether0 inet from 10.50.0.0/24" not in main
    assert "vether0" in main  # DHCP to and from the served vether stays
    db01 = hv.ssh("hv1", "pfctl -a vm/db01 -sr")
    assert "on db01_vm" in db01, "bridged traffic: the group rules stay"
    routed = [line for line in db01.splitlines() if "on vether0" in line]
    assert routed, db01
    assert any("10.50.0.21" in line and "3306" in line for line in routed), routed
    assert any(line.startswith("block") and "10.50.0.21" in line for line in routed), routed
    # web01 is on the bridged switch only: no routed part.
    assert "vether0" not in hv.ssh("hv1", "pfctl -a vm/web01 -sr")
    verified = bsdprov("verify", "--host", "hv1", "-i", str(fresh))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "db01's routed policy is on vether0" in verified.stdout
    reboot_invariant(hv.LAB_DIR, "hv1", "db01")
