"""`txn.sh rollback` by hand says how it ended in its exit status (issue 11 review): an admin's
`sh /var/db/bsdprov/txn.sh rollback RUN && echo done` printed "done" on rollback-failed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.onhost.harness import Host
from tests.onhost.test_txn_faults import NEW, OLD, TARGET, host

__all__ = ["host"]

pytestmark = pytest.mark.onhost


def test_a_rollback_that_failed_exits_non_zero(host: Host, tmp_path: Path) -> None:
    flag = tmp_path / "ran-once"
    once = shlex.join(["sh", "-c", f"test ! -e {flag} && : > {flag}"])  # fails the second time
    host.prepare("r1", {TARGET: NEW}, steps=[once], timeout=60)
    assert host.txn("start", "r1").returncode == 0, host.journal("r1")
    result = host.txn("rollback", "r1", "by hand")
    assert host.state("r1") == "rollback-failed"
    assert result.returncode == 1
    assert "rollback-failed" in result.stderr


def test_a_rollback_that_worked_exits_zero(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    assert host.txn("rollback", "r1", "by hand").returncode == 0
    assert host.state("r1") == "rolled-back"
    assert host.path(TARGET).read_text() == OLD
