"""Issue 14 attack, ZFS datastores under faults, on the example's lab over real OpenSSH: a
datastore whose pool does not exist makes nothing and writes nothing; a make that fails half-way
(the second guest's zvol, whose parent is the admin's plain directory) undoes exactly what the
run made before it, and the admin's directory stays with its file; a new dataset the admin
wrote into before the run rolled back is kept with what they wrote; a host that reboots after
the run made a dataset and before it installed a file keeps the dataset until the next deploy
rolls the interrupted run back (on a first run, rc.local has no boot hook yet)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.reboot import reboot_host
from tests.command import bsdprov
from tests.e2e.test_bhyve import LAB_DIR, edited, fresh, lab, root, ssh

pytestmark = pytest.mark.e2e
__all__ = ["fresh", "lab"]  # the example's lab, shared with tests/e2e/test_bhyve.py


def datasets() -> list[str]:
    return ssh("bhv1", "zfs list -H -r -o name zroot").split()


def runs_states() -> list[str]:
    return ssh("bhv1", "cat /var/db/bsdprov/runs/*/state").split()


def test_a_datastore_whose_pool_does_not_exist_changes_nothing(fresh: Path) -> None:
    def on_tank(data: dict[str, Any]) -> None:
        data["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:tank/vm", mountpoint="/var/vm")
        data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = "/dev/zvol/tank/vm/bsd-guest/disk0"

    hv = root("bhv1")
    rc_conf = (hv / "etc/rc.conf").read_text()
    inventory = edited(fresh, on_tank, "tank.yaml")
    failed = bsdprov(
        "deploy", "--host", "bhv1", "--yes", "--confirm-timeout", "30", "-i", inventory
    )
    assert failed.returncode == ExitCode.FAILED, failed.stdout + failed.stderr
    out = failed.stdout + failed.stderr
    assert "the datastore tank/vm is not mounted, not at /var/vm" in out
    assert runs_states() == ["failed"]
    assert (hv / "etc/rc.conf").read_text() == rc_conf, "nothing installed"
    assert not (hv / "var/vm/bsd-guest").exists() and not (hv / "var/vm/.config").exists()
    assert datasets() == ["zroot"]


def test_a_make_failing_half_way_undoes_only_what_the_run_made(fresh: Path) -> None:
    ssh("bhv1", "zfs create -o mountpoint=/var/vm zroot/vm")
    hv = root("bhv1")
    # The admin's plain directory for obsd-guest: vm-bhyve reads it, bsdprov keeps it.
    (hv / "var/vm/obsd-guest").mkdir(parents=True)
    (hv / "var/vm/obsd-guest/notes.txt").write_text("the admin's\n")

    def on_zfs(data: dict[str, Any]) -> None:
        data["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:zroot/vm", mountpoint="/var/vm")
        for name in ("bsd-guest", "obsd-guest"):
            data["hosts"][name]["vm"]["disk"]["path"] = f"/dev/zvol/zroot/vm/{name}/disk0"

    inventory = edited(fresh, on_zfs, "halfway.yaml")
    failed = bsdprov(
        "deploy", "--host", "bhv1", "--yes", "--confirm-timeout", "30", "-i", inventory
    )
    assert failed.returncode == ExitCode.FAILED, failed.stdout + failed.stderr
    out = failed.stdout + failed.stderr
    assert "cannot create 'zroot/vm/obsd-guest/disk0': parent does not exist" in out
    assert runs_states() == ["failed"]
    journal = ssh("bhv1", "cat /var/db/bsdprov/runs/*/journal")
    assert (
        "unmake (exit 0): sh /var/db/bsdprov/lib/zfs-dataset destroy zroot/vm/bsd-guest/disk0"
        in (journal)
    )
    assert datasets() == ["zroot", "zroot/vm"], "bsd-guest's dataset and zvol are destroyed"
    assert not (hv / "var/vm/bsd-guest").exists()
    assert not (hv / "dev/zvol/zroot/vm/bsd-guest/disk0").exists()
    assert (hv / "var/vm/obsd-guest/notes.txt").read_text() == "the admin's\n"
    assert 'vm_dir="zfs:zroot/vm"' not in (hv / "etc/rc.conf").read_text()


def test_a_rollback_keeps_a_new_dataset_the_admin_wrote_into(fresh: Path) -> None:
    ssh("bhv1", "zfs create -o mountpoint=/var/vm zroot/vm")
    hv = root("bhv1")

    def on_zfs(data: dict[str, Any]) -> None:
        data["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:zroot/vm", mountpoint="/var/vm")
        data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = "/dev/zvol/zroot/vm/bsd-guest/disk0"
        data["hosts"]["obsd-guest"]["vm"]["disk"]["path"] = "/var/vm/obsd-guest/disk0.img"

    inventory = edited(fresh, on_zfs, "admin-writes.yaml")
    faults = hv / "var/lab/faults"
    (faults / "hang").mkdir(parents=True, exist_ok=True)
    (faults / "fail-once").mkdir(parents=True, exist_ok=True)
    (faults / "hang/vm").write_text("8\n")  # vm init, the run's first vm call, waits
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(
            bsdprov, "deploy", "--host", "bhv1", "--confirm-timeout", "30", "-i", inventory
        )
        deadline = time.monotonic() + 120
        while not (faults / "hang/vm.reached").exists():
            assert time.monotonic() < deadline and not run.done(), "the run never reached vm"
            time.sleep(0.2)
        (faults / "hang/vm").unlink()
        # Meanwhile the admin copies an installer into the guest's new dataset; then vm init
        # fails and the run rolls back.
        (hv / "var/vm/bsd-guest/install.iso").write_text("the admin's\n")
        (faults / "fail-once/vm").write_text("vm: injected failure\n")
        failed = run.result()
    assert failed.returncode == ExitCode.ROLLED_BACK, failed.stdout + failed.stderr
    journal = ssh("bhv1", "cat /var/db/bsdprov/runs/*/journal")
    assert "kept: /var/vm/bsd-guest holds install.iso" in journal
    assert (hv / "var/vm/bsd-guest/install.iso").read_text() == "the admin's\n"
    assert not (hv / "var/vm/bsd-guest/bsd-guest.conf").exists(), "the run's file is gone"
    assert datasets() == ["zroot", "zroot/vm", "zroot/vm/bsd-guest"], (
        "its zvol and obsd-guest's dataset (the run's alone) are destroyed"
    )


def test_a_reboot_after_the_first_dataset_before_any_file_is_undone_at_the_next_deploy(
    fresh: Path,
) -> None:
    ssh("bhv1", "zfs create -o mountpoint=/var/vm zroot/vm")
    hv = root("bhv1")
    rc_conf = (hv / "etc/rc.conf").read_text()

    def on_zfs(data: dict[str, Any]) -> None:
        data["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:zroot/vm", mountpoint="/var/vm")
        for name in ("bsd-guest", "obsd-guest"):
            data["hosts"][name]["vm"]["disk"]["path"] = f"/var/vm/{name}/disk0.img"

    inventory = edited(fresh, on_zfs, "reboot.yaml")
    faults = hv / "var/lab/faults/hang"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "zfs").write_text("4\n")  # each zfs call of the run waits 4 s
    reached = faults / "zfs.reached"
    state = hv / "var/lab/zfs"  # the zfs fake's datasets (ssh's zfs would wait too)
    with ThreadPoolExecutor(1) as pool:
        run = pool.submit(
            bsdprov, "deploy", "--host", "bhv1", "--confirm-timeout", "30", "-i", inventory
        )
        # Once bsd-guest's dataset is made (and recorded), the next zfs call is the second
        # make's: the host goes down while it waits, before any file is installed.
        deadline = time.monotonic() + 120
        while "zroot/vm/bsd-guest " not in state.read_text():
            assert time.monotonic() < deadline and not run.done(), "the dataset never came"
            time.sleep(0.05)
        reached.unlink(missing_ok=True)
        while not reached.exists():
            assert time.monotonic() < deadline and not run.done(), "no second make came"
            time.sleep(0.05)
        (faults / "zfs").unlink()
        assert not (hv / "var/vm/bsd-guest/bsd-guest.conf").exists()
        output = reboot_host("bhv1", lab_dir=LAB_DIR)
        cut = run.result()
    assert cut.returncode != 0, cut.stdout + cut.stderr
    (first,) = ssh("bhv1", "ls /var/db/bsdprov/runs").split()
    # A first run on this host: rc.local had no boot hook yet (it is one of the run's files),
    # so nothing rolls the run back at boot; the dataset it made stays until bsdprov comes back.
    assert runs_states() == ["backed-up"], output
    assert "zroot/vm/bsd-guest" in datasets()
    assert (hv / "etc/rc.conf").read_text() == rc_conf, "no file was installed"
    # The next deploy rolls the interrupted run back first (destroying its dataset), then
    # deploys afresh.
    again = bsdprov("deploy", "--host", "bhv1", "--confirm-timeout", "30", "-i", inventory)
    assert again.returncode == 0, again.stdout + again.stderr
    journal = ssh("bhv1", f"cat /var/db/bsdprov/runs/{first}/journal")
    assert "unmake (exit 0): sh /var/db/bsdprov/lib/zfs-dataset destroy zroot/vm/bsd-guest" in (
        journal
    )
    assert ssh("bhv1", f"cat /var/db/bsdprov/runs/{first}/state").split() == ["rolled-back"]
    assert "zroot/vm/bsd-guest" in datasets() and "zroot/vm/obsd-guest" in datasets()
