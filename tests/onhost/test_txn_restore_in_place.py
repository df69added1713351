"""A restore that fits neither beside the file nor in its place leaves the file whole (issue 11
review): txn.sh's fallback rewrites the file in place, which truncates it first; when the old
contents are larger than the new file plus the free space, the copy stops half-way and the host
kept half a config file. It must keep the new file whole and say why (rollback-failed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.onhost.harness import Host
from tests.onhost.test_txn_faults import TARGET, fill, host, leftovers, needs_root, small_fs

__all__ = ["host"]

pytestmark = pytest.mark.onhost

BIG_OLD = "# an admin's long file\n" * 2000  # 46 KB
NEW = "inet 203.0.113.12 255.255.255.255\n"


@needs_root
def test_a_restore_with_no_room_anywhere_never_leaves_half_a_file(
    request: pytest.FixtureRequest, host: Host, tmp_path: Path
) -> None:
    host.write(TARGET, BIG_OLD, 0o600)
    etc = small_fs(request, host, "/etc", 256)
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    fill(etc)  # something else fills /etc while the run awaits its confirmation
    host.txn("rollback", "r1", "operator said so")
    assert host.state("r1") == "rollback-failed"
    assert host.path(TARGET).read_text() in (NEW, BIG_OLD), "half a file left"
    assert "no space left on /etc" in host.reason("r1") + host.journal("r1")
    assert leftovers(etc) == []
    # Once there is room, a plain copy of the backup brings the old file back.
    for filler in (etc / ".filler").iterdir():
        filler.unlink()
    assert host.path(TARGET).read_text() == NEW
