"""Issue 14 item: FreeBSD 15's if_bridge refuses a member with an address (bridge(4) of 15.0).
On a lab hypervisor that reports 15.0-RELEASE, the example's switch port em0 (the host's
address) is refused by the plan and by deploy, naming the key and what to write instead, and
nothing on the host changes; the lab's ifconfig refuses the same member as 15's kernel does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.command import bsdprov
from tests.e2e.test_bhyve import fresh, lab, root, ssh

pytestmark = pytest.mark.e2e
__all__ = ["fresh", "lab"]  # the example's lab, shared with tests/e2e/test_bhyve.py


def test_a_15_hypervisor_with_an_addressed_port_is_refused_before_any_change(
    fresh: Path,
) -> None:
    hv = root("bhv1")
    (hv / "var/lab/release").write_text("15.0-RELEASE\n")
    rc_conf = (hv / "etc/rc.conf").read_text()
    inventory = str(fresh)

    planned = bsdprov("plan", "--host", "bhv1", "-i", inventory)
    assert planned.returncode != 0
    said = planned.stdout + planned.stderr
    assert "bhyve.switches.public.ports[0]: 'em0' holds 192.0.2.20/24" in said
    assert "FreeBSD 15.0-RELEASE's if_bridge refuses a member with an address" in said
    assert "Traceback" not in said

    deployed = bsdprov("deploy", "--all", "-i", inventory)
    assert deployed.returncode != 0
    assert "'em0' holds 192.0.2.20/24" in deployed.stdout + deployed.stderr
    assert (hv / "etc/rc.conf").read_text() == rc_conf, "nothing was written"
    assert not (hv / "var/db/bsdprov/runs").exists() or not any(
        (hv / "var/db/bsdprov/runs").iterdir()
    ), "no run started"
    # What the refusal spares the host: 15's kernel (the lab's ifconfig) refuses the member.
    refused = ssh("bhv1", "ifconfig bridge create name vm-x up; ifconfig vm-x addm em0 2>&1")
    assert "BRDGADD em0: Invalid argument" in refused
