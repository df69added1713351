"""Issue 11: ``deploy --purge-disks`` deletes only disk images bsdprov created, on the lab
hypervisor of the example inventory (its fixture, from test_hypervisor.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_hypervisor import deploy, edited, fresh, lab, root, ssh

pytestmark = pytest.mark.e2e
__all__ = ["fresh", "lab"]  # the fixtures this module uses


def test_purge_deletes_the_disks_bsdprov_made_and_keeps_the_others(fresh: Path) -> None:
    deploy("--all", "-i", str(fresh))
    hv1 = root("hv1")
    record = hv1 / "var/db/bsdprov/disks"
    assert "/var/vmm/obsd1.qcow2\n" in record.read_text(), "each created disk is recorded"

    # db01's image was made by hand as far as bsdprov knows: its record line is gone.
    record.write_text(record.read_text().replace("/var/vmm/db01.qcow2\n", ""))
    hand_made = (hv1 / "var/vmm/db01.qcow2").read_bytes()

    def remove_two(data: dict[str, Any]) -> None:
        data["hosts"]["obsd1"].pop("vm")
        data["hosts"]["db01"].pop("vm")

    deploy("--host", "hv1", "--purge-disks", "-i", edited(fresh, remove_two))
    assert not (hv1 / "var/vmm/obsd1.qcow2").exists(), "bsdprov's own disk is purged"
    assert "/var/vmm/obsd1.qcow2" not in record.read_text()
    assert (hv1 / "var/vmm/db01.qcow2").read_bytes() == hand_made, "the other one is kept"
    assert "kept /var/vmm/db01.qcow2: bsdprov did not create it" in ssh(
        "hv1", "cat /var/db/bsdprov/runs/*/journal"
    )
