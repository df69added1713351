"""Issue 14, pf on a bhyve hypervisor with NAT, on the example's lab over real OpenSSH:

- pf off and an admin's pf.conf with rules: the plan warns that enabling pf activates them,
  deploy --no-confirm is refused with nothing changed, a confirmed deploy enables pf;
- with the hook in pf.conf, a NAT change loads only anchor "bsdprov": a rule the admin wrote
  into pf.conf and never loaded stays inactive, through the deploy and its rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsdprov.lab.pytest_plugin import RebootInvariant
from tests.command import bsdprov
from tests.e2e.test_bhyve import LAB_DIR, deploy, edited, fresh, lab, root, ssh

pytestmark = pytest.mark.e2e
__all__ = ["fresh", "lab"]  # the example's lab, shared with tests/e2e/test_bhyve.py

ADMIN_PF = "set skip on lo0\npass out all\npass in on em0 proto tcp to port 22\n"
DORMANT = "block in quick on em0 proto tcp to port 2323"


def with_nat(source: str) -> Any:
    def change(data: dict[str, Any]) -> None:
        hv = data["hosts"]["bhv1"]
        hv["nat"] = [{"from": source, "out": "em0"}]
        hv["forwarding"] = {"inet": True}

    return change


def test_enabling_pf_warns_and_a_nat_change_loads_only_the_anchor(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    hv = root("bhv1")
    (hv / "etc/pf.conf").write_text(ADMIN_PF)
    (hv / "etc/pf.conf").chmod(0o600)
    deploy("--all", "-i", str(fresh))
    assert "Status: Enabled" not in ssh("bhv1", "pfctl -s info 2>&1")
    nat = edited(fresh, with_nat("10.0.0.0/24"), "nat.yaml")

    planned = bsdprov("plan", "--host", "bhv1", "-i", nat)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "warning: this deploy enables pf (pfctl -e, for the NAT)" in planned.stdout
    assert "the 3 statement(s) of /etc/pf.conf that bsdprov did not write" in planned.stdout

    refused = bsdprov("deploy", "--host", "bhv1", "--no-confirm", "-i", nat)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "--no-confirm turns that timer off" in said and "nothing was changed" in said
    assert (hv / "etc/pf.conf").read_text() == ADMIN_PF
    assert "Status: Enabled" not in ssh("bhv1", "pfctl -s info 2>&1")

    deploy("--host", "bhv1", "-i", nat)
    assert "Status: Enabled" in ssh("bhv1", "pfctl -s info")
    assert "nat on em0 inet from 10.0.0.0/24" in ssh("bhv1", "pfctl -a bsdprov -sn")
    reboot_invariant(LAB_DIR, "bhv1")

    # The admin edits pf.conf and does not load it; a NAT change must not load it either.
    edited_pf = (hv / "etc/pf.conf").read_text() + DORMANT + "\n"
    (hv / "etc/pf.conf").write_text(edited_pf)
    changed = edited(fresh, with_nat("10.0.0.0/25"), "nat2.yaml")
    planned = bsdprov("plan", "--host", "bhv1", "-i", changed)
    assert "pfctl -a bsdprov -f /etc/pf.bsdprov.conf" in planned.stdout
    assert "pfctl -f /etc/pf.conf" not in planned.stdout
    assert "enables pf" not in planned.stdout, "pf runs already: nothing new becomes active"
    deploy("--host", "bhv1", "-i", changed)
    assert "nat on em0 inet from 10.0.0.0/25" in ssh("bhv1", "pfctl -a bsdprov -sn")
    assert "2323" not in ssh("bhv1", "pfctl -sr"), "the admin's unloaded rule stays inactive"
    assert (hv / "etc/pf.conf").read_text() == edited_pf

    undone = bsdprov("rollback", "--host", "bhv1", "-i", changed, "--confirm-timeout", "30")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "nat on em0 inet from 10.0.0.0/24" in ssh("bhv1", "pfctl -a bsdprov -sn")
    assert "2323" not in ssh("bhv1", "pfctl -sr"), "nor does the rollback load pf.conf"
    assert "Status: Enabled" in ssh("bhv1", "pfctl -s info")
