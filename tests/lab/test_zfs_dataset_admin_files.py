"""Issue 14 attack: the run's rollback destroys a guest dataset it made only while that dataset
holds nothing but what the run and vm-bhyve put there (the guest's NAME.conf, its disk image,
vm-bhyve.log). A file the admin wrote into it meanwhile keeps it: bsdprov never destroys what it
did not create. Under dash, busybox ash and mksh, on the lab's zfs(8) fake."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host
from tests.lab.test_zfs_dataset_helper import helper, zfs_host

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host


def test_a_dataset_holding_the_admins_file_is_kept(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    assert helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g1").rc == 0
    host.write("/vm/g1/disk0.img", "")
    host.write("/vm/g1/vm-bhyve.log", "started\n")
    host.write("/vm/g1/install.iso", "the admin's\n")
    kept = helper(host, "destroy", "zroot/vm/g1", "g1.conf", "disk0.img")
    assert kept.rc == 0 and "kept: /vm/g1 holds install.iso" in kept.out
    assert host.ok("zfs list -H -o name zroot/vm/g1") == "zroot/vm/g1\n"
    assert host.path("/vm/g1/install.iso").read_text() == "the admin's\n"


def test_a_dataset_holding_only_the_runs_files_is_destroyed(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    assert helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g1").rc == 0
    host.write("/vm/g1/disk0.img", "")
    host.write("/vm/g1/vm-bhyve.log", "started\n")
    # A guest stopped a moment ago: its vm-run loop has not removed these yet (lib/vm-run).
    host.write("/vm/g1/run.lock", "bhv1\n")
    host.write("/vm/g1/console", "com1=/dev/nmdm-g1.1B\n")
    gone = helper(host, "destroy", "zroot/vm/g1", "g1.conf", "disk0.img")
    assert gone.rc == 0 and "destroyed zroot/vm/g1" in gone.out
    assert host.run("zfs list zroot/vm/g1").rc == 1
    # A volume holds no files: destroyed as before.
    assert helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g2").rc == 0
    assert helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g2/disk0", "1G").rc == 0
    assert helper(host, "destroy", "zroot/vm/g2/disk0").rc == 0
    assert helper(host, "destroy", "zroot/vm/g2").rc == 0
    assert host.ok("zfs list -H -r -o name zroot/vm") == "zroot/vm\n"


def test_a_hidden_file_of_the_admins_keeps_it_too(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    assert helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g1").rc == 0
    host.write("/vm/g1/.notes", "the admin's\n")
    kept = helper(host, "destroy", "zroot/vm/g1", "g1.conf")
    assert kept.rc == 0 and "holds .notes" in kept.out
    assert host.path("/vm/g1/.notes").exists()
