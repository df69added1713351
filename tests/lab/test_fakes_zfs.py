"""The lab's zfs(8) and mount(8) fakes on FreeBSD hosts, under dash, busybox ash and mksh: the
datasets bsdprov and vm-bhyve make, with zfs(8)'s messages and exit codes, mounted as
directories under the host's root; and vm-bhyve's `zfs:` datastore read through mount(8), as
lib/vm-zfs does. A fake laxer than zfs(8) would let a lab deploy pass where the host fails."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host
from tests.lab.test_fakes_bhyve import freebsd

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host


def test_a_lab_host_starts_with_pool_zroot(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    assert host.ok("zfs list -H -o name,mountpoint") == "zroot\t/var/zroot\n"
    assert host.ok("mount") == "zroot on /var/zroot (zfs, local, nfsv4acls)\n"


def test_create_list_get_and_destroy_as_zfs_does(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.ok("zfs create -o mountpoint=/vm zroot/vm && zfs create zroot/vm/g1")
    assert host.path("/vm/g1").is_dir(), "mounted where its parent's mountpoint says"
    assert host.ok("zfs get -H -o value mountpoint zroot/vm/g1") == "/vm/g1\n"
    host.ok("zfs create -s -V 1G -o volmode=dev zroot/vm/g1/disk0")
    assert host.path("/dev/zvol/zroot/vm/g1/disk0").exists(), "a volume's node"
    assert host.ok("zfs list -H -r -o name,type zroot/vm") == (
        "zroot/vm\tfilesystem\nzroot/vm/g1\tfilesystem\nzroot/vm/g1/disk0\tvolume\n"
    )
    assert "zroot/vm/g1 on /vm/g1 (zfs" in host.ok("mount")

    again = host.run("zfs create zroot/vm/g1")
    assert again.rc == 1 and "cannot create 'zroot/vm/g1': dataset already exists" in again.err
    orphan = host.run("zfs create zroot/nope/g2")
    assert orphan.rc == 1 and "cannot create 'zroot/nope/g2': parent does not exist" in orphan.err
    host.ok("zfs create -p zroot/a/b")
    sparse = host.run("zfs create -s zroot/vm/g3")
    assert sparse.rc == 2, "-s applies to volumes only (usage error)"
    under_volume = host.run("zfs create zroot/vm/g1/disk0/x")
    assert under_volume.rc == 1 and "parent is not a filesystem" in under_volume.err
    missing = host.run("zfs get -H -o value mountpoint zroot/vm/g9")
    assert missing.rc == 1 and "cannot open 'zroot/vm/g9': dataset does not exist" in missing.err

    host.write("/vm/g1/g1.conf", 'loader="bhyveload"\n')
    busy = host.run("zfs destroy zroot/vm/g1")
    assert busy.rc == 1 and "cannot destroy 'zroot/vm/g1': filesystem has children" in busy.err
    assert "zroot/vm/g1/disk0" in busy.err and host.path("/vm/g1/g1.conf").exists()
    host.ok("zfs destroy zroot/vm/g1/disk0 && zfs destroy zroot/vm/g1")
    assert not host.path("/vm/g1").exists(), "its files go with it"
    assert not host.path("/dev/zvol/zroot/vm/g1/disk0").exists()
    assert host.run("zfs destroy zroot").rc == 1, "a pool is not destroyed this way"
    assert host.path("/vm").is_dir(), "the parent stays"


def test_mounting_over_a_non_empty_directory_is_refused_in_the_lab(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("freebsd")
    host.write("/var/zroot/vm/keep.txt", "an admin's file\n")
    refused = host.run("zfs create zroot/vm")
    assert refused.rc == 1 and "non-empty directory /var/zroot/vm" in refused.err
    assert host.run("zfs list zroot/vm").rc == 1, "nothing recorded"
    assert host.path("/var/zroot/vm/keep.txt").read_text() == "an admin's file\n"


def test_vm_bhyve_reads_a_zfs_datastore_through_mount(make_host: Callable[..., Host]) -> None:
    host = freebsd(make_host)
    host.write("/etc/rc.conf", 'vm_enable="YES"\nvm_dir="zfs:zroot/vm"\n')
    unmounted = host.run("vm list")
    assert unmounted.rc == 1
    assert "unable to locate mountpoint for ZFS dataset zroot/vm" in unmounted.err
    host.ok("zfs create -o mountpoint=/vm zroot/vm && vm init")
    assert host.path("/vm/.config").is_dir(), "vm init works in the mountpoint"
    host.write("/vm/.templates/default.conf", 'loader="bhyveload"\ndisk0_name="disk0.img"\n')
    host.ok("vm create -s 1G g1")
    assert host.ok("zfs list -H -o name zroot/vm/g1") == "zroot/vm/g1\n", "a dataset per guest"
    assert host.path("/vm/g1/g1.conf").exists()
