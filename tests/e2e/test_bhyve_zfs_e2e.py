"""Issue 14, ZFS datastores, on the example's lab over real OpenSSH: vm_dir "zfs:zroot/vm"
(the admin's dataset, mounted at /var/vm). From nothing, each guest's dataset (and bsd-guest's
sparse zvol disk) is made before its NAME.conf goes into it, the guests run, a second plan
changes nothing, and the state survives a reboot; a failing deploy that adds a guest is rolled
back whole, destroying exactly the datasets that run made: the earlier guests' and the admin's
own stay, with their files; a later rollback of the confirmed deploy keeps what it made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RebootInvariant
from tests.command import bsdprov
from tests.e2e.test_bhyve import (
    LAB_DIR,
    deploy,
    edited,
    fresh,
    lab,
    plan_of,
    root,
    running,
    ssh,
)

pytestmark = pytest.mark.e2e
__all__ = ["fresh", "lab"]  # the example's lab, shared with tests/e2e/test_bhyve.py

ZVOL = "/dev/zvol/zroot/vm/bsd-guest/disk0"


def on_zfs(data: dict[str, Any]) -> None:
    data["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:zroot/vm", mountpoint="/var/vm")
    data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = ZVOL
    data["hosts"]["obsd-guest"]["vm"]["disk"]["path"] = "/var/vm/obsd-guest/disk0.img"


def datasets() -> list[str]:
    return ssh("bhv1", "zfs list -H -r -o name zroot").split()


def test_guests_on_a_zfs_datastore_from_nothing_and_a_failed_run_undone(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    # The admin's datastore, and a dataset of theirs in it that bsdprov must never touch.
    ssh("bhv1", "zfs create -o mountpoint=/var/vm zroot/vm && zfs create zroot/vm/mine")
    hv = root("bhv1")
    (hv / "var/vm/mine/notes.txt").write_text("the admin's\n")
    inventory = edited(fresh, on_zfs, "zfs.yaml")

    plan = plan_of(inventory)
    assert [m["command"][2:] for m in plan["make"]] == [
        ["make", "zroot/vm", "/var/vm", "zroot/vm/bsd-guest"],
        ["make", "zroot/vm", "/var/vm", "zroot/vm/bsd-guest/disk0", "20G"],
        ["make", "zroot/vm", "/var/vm", "zroot/vm/obsd-guest"],
    ]
    deploy("--all", "-i", inventory)
    assert datasets() == [
        "zroot",
        "zroot/vm",
        "zroot/vm/mine",
        "zroot/vm/bsd-guest",
        "zroot/vm/bsd-guest/disk0",
        "zroot/vm/obsd-guest",
    ]
    assert 'vm_dir="zfs:zroot/vm"' in (hv / "etc/rc.conf").read_text()
    conf = (hv / "var/vm/bsd-guest/bsd-guest.conf").read_text()
    assert 'disk0_dev="sparse-zvol"\ndisk0_name="disk0"\n' in conf
    assert ssh("bhv1", "zfs get -H -o value volmode zroot/vm/bsd-guest/disk0") == "dev\n"
    assert running("bsd-guest") and running("obsd-guest")
    verified = bsdprov("verify", "--host", "bhv1", "-i", inventory)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert plan_of(inventory)["make"] == [] and plan_of(inventory)["files"] == []
    reboot_invariant(LAB_DIR, "bhv1")
    assert running("bsd-guest") and running("obsd-guest"), "rc.d/vm reads the zfs datastore"

    # A third guest whose run fails (vm init): its dataset and zvol go, nothing else.
    def add(data: dict[str, Any]) -> None:
        on_zfs(data)
        data["hosts"]["third"] = {
            "os": "freebsd",
            "vm": {
                "hypervisor": "bhv1",
                "disk": {"path": "/dev/zvol/zroot/vm/third/disk0", "size": "5G"},
                "nics": [{"switch": "public", "mac": "00:50:56:00:01:44"}],
            },
        }

    more = edited(fresh, add, "zfs-more.yaml")
    faults = hv / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "vm").write_text("vm: injected failure\n")
    failed = bsdprov("deploy", "--host", "bhv1", "--confirm-timeout", "30", "-i", more)
    assert failed.returncode == ExitCode.ROLLED_BACK, failed.stdout + failed.stderr
    assert "bhv1  rolled-back" in failed.stdout
    assert "zroot/vm/third" not in datasets(), "the run's own datasets are destroyed"
    assert not (hv / "var/vm/third").exists() and not (hv / "dev/zvol/zroot/vm/third").exists()
    assert "zroot/vm/bsd-guest/disk0" in datasets() and "zroot/vm/mine" in datasets()
    assert (hv / "var/vm/mine/notes.txt").read_text() == "the admin's\n"
    assert (hv / "var/vm/bsd-guest/bsd-guest.conf").read_text() == conf
    assert running("bsd-guest") and running("obsd-guest")
    journal = ssh("bhv1", "cat /var/db/bsdprov/runs/*/journal")
    assert "unmake (exit 0): sh /var/db/bsdprov/lib/zfs-dataset destroy zroot/vm/third/disk0" in (
        journal
    )
    reboot_invariant(LAB_DIR, "bhv1")

    # Rolling the confirmed deploy back later (a new run from its backups) keeps the datasets
    # it made, disks and all, as it keeps file disks: nothing the guests wrote is destroyed.
    undone = bsdprov("rollback", "--host", "bhv1", "-i", inventory, "--confirm-timeout", "30")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert not running("bsd-guest") and not (hv / "var/vm/bsd-guest/bsd-guest.conf").exists()
    assert "zroot/vm/bsd-guest/disk0" in datasets() and "zroot/vm/obsd-guest" in datasets()
    assert (hv / "var/vm/obsd-guest/disk0.img").exists()
