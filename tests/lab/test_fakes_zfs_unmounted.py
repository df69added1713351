"""The lab's zfs(8) fake with mountpoint=none and mountpoint=legacy (zfsprops(7)): such a file
system, and its children inheriting the value, is not mounted, so mount(8) does not list it and
vm-bhyve (lib/vm-zfs __zfs_init) cannot find a datastore there. zfs-dataset then makes nothing
and the run fails before any file. Under dash, busybox ash and mksh."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host
from tests.lab.test_zfs_dataset_helper import helper

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host


@pytest.mark.parametrize("value", ["none", "legacy"])
def test_an_unmounted_datastore_is_found_by_nobody(
    make_host: Callable[..., Host], value: str
) -> None:
    host = make_host("freebsd")
    host.env["BSDPROV_ROOT"] = str(host.root)
    host.ok(f"zfs create -o mountpoint={value} zroot/vm && zfs create zroot/vm/g1")
    assert host.ok("zfs get -H -o value mountpoint,mounted zroot/vm/g1") == f"{value}\nno\n"
    assert host.ok("mount") == "zroot on /var/zroot (zfs, local, nfsv4acls)\n"
    assert not host.path("/vm").exists() and not host.path("/none").exists()
    host.ok("zfs destroy zroot/vm/g1")

    refused = helper(host, "make", "zroot/vm", "/vm", "zroot/vm/g2")
    assert refused.rc == 1 and "the datastore zroot/vm is not mounted, not at /vm" in refused.err
    assert host.ok("zfs list -H -r -o name zroot/vm") == "zroot/vm\n", "nothing made"
