"""Issue 14 attack: a zvol disk's name is a ZFS dataset component (zfs_namecheck.c valid_char:
letters, digits, '-', '_', '.', ':' and space), which the inventory's path syntax does not
bound: '+' is a path character zfs refuses, so ``zfs create -s -V`` failed mid-deploy instead
of ``check`` naming the key."""

from __future__ import annotations

import pytest

from tests.test_bhyve_zfs import load, problems, zfs_example


@pytest.mark.parametrize("leaf", ["disk+0", "+"])
def test_check_refuses_a_zvol_name_zfs_refuses(leaf: str) -> None:
    data = zfs_example()
    data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = f"/dev/zvol/zroot/vm/bsd-guest/{leaf}"
    found = problems(data)
    assert "hosts.bsd-guest.vm.disk.path" in found
    assert f"{leaf!r} is not a ZFS dataset name" in found


@pytest.mark.parametrize("leaf", ["disk0", "disk-1.raw", "d_2"])
def test_a_zvol_name_zfs_takes_is_accepted(leaf: str) -> None:
    data = zfs_example()
    data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = f"/dev/zvol/zroot/vm/bsd-guest/{leaf}"
    assert load(data).hosts["bsd-guest"].vm is not None
