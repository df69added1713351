"""bsdprov/remote/lib/zfs-dataset against the lab's zfs(8) and mount(8) fakes, under dash,
busybox ash and mksh: it makes a guest's dataset (or sparse zvol) only below a datastore
mounted where the inventory says, reports one already there (or a plain directory) as kept
(exit 3), and destroys exactly one dataset, never recursively."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host

HELPER = Path(__file__).parents[2] / "bsdprov" / "remote" / "lib" / "zfs-dataset"


def zfs_host(make_host: Callable[..., Host]) -> Host:
    host = make_host("freebsd")
    host.env["BSDPROV_ROOT"] = str(host.root)
    host.ok("zfs create -o mountpoint=/vm zroot/vm")
    return host


def helper(host: Host, *args: str) -> harness.Result:
    return host.run(" ".join(["sh", str(HELPER), *args]))


def test_makes_a_guest_dataset_and_its_zvol(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    made = helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g1")
    assert made.rc == 0 and "made zroot/vm/g1" in made.out
    assert host.path("/vm/g1").is_dir()
    volume = helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g1/disk0", "1G")
    assert volume.rc == 0
    assert host.ok("zfs get -H -o value volmode zroot/vm/g1/disk0") == "dev\n"
    again = helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g1")
    assert again.rc == 3 and "exists: kept" in again.out
    assert helper(host, "mounted", "zroot/vm", "/vm").rc == 0


def test_a_plain_directory_is_kept_never_mounted_over(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    host.write("/vm/g2/g2.conf", 'loader="bhyveload"\n')
    kept = helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g2")
    assert kept.rc == 3 and "is a directory already, not a dataset" in kept.out
    assert host.run("zfs list zroot/vm/g2").rc == 1, "no dataset made"
    assert host.path("/vm/g2/g2.conf").exists()


def test_a_datastore_mounted_elsewhere_makes_nothing(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    wrong = helper(host, "make", "zroot/vm", "/var/zroot/vm", "zroot/vm/g1")
    assert wrong.rc == 1
    assert "the datastore zroot/vm is mounted at /vm, not at /var/zroot/vm" in wrong.err
    assert host.run("zfs list zroot/vm/g1").rc == 1
    missing = helper(host, "mounted", "zroot/other", "/other")
    assert missing.rc == 1 and "is not mounted, not at /other" in missing.err
    outside = helper(host, "make", "zroot/vm", "/vm", "zroot/elsewhere")
    assert outside.rc == 1 and "not below the datastore" in outside.err


def test_destroy_takes_one_dataset_never_its_children(make_host: Callable[..., Host]) -> None:
    host = zfs_host(make_host)
    host.ok("zfs create zroot/vm/g1 && zfs create zroot/vm/g1/admins")
    refused = helper(host, "destroy", "zroot/vm/g1")
    assert refused.rc == 1 and "filesystem has children" in refused.err
    assert host.ok("zfs list -H -o name zroot/vm/g1/admins") == "zroot/vm/g1/admins\n"
    assert helper(host, "destroy", "zroot/vm/g1/admins").rc == 0
    gone = helper(host, "destroy", "zroot/vm/g1/admins")
    assert gone.rc == 0 and "gone already" in gone.out
