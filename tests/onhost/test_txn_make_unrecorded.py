"""txn.sh's make phase when the record of what the run made cannot be written (the state
directory is full, or unwritable): what was just made is undone at once, since no rollback could
find it later, and the run fails before any file is installed. Under every test shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.onhost.harness import Host, record
from tests.onhost.test_txn import NEW, OLD, TARGET, ran
from tests.onhost.test_txn_make import host, maker, with_make

pytestmark = pytest.mark.onhost
__all__ = ["host"]  # the fixture, shared with test_txn_make


def test_a_make_it_cannot_record_is_undone_at_once(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, steps=[record(log, "step")])
    with_make(
        run,
        [
            (maker(log, "dataset"), record(log, "destroy-dataset")),
            (maker(log, "volume"), record(log, "destroy-volume")),
        ],
    )
    (run / "made").mkdir()  # appending to it fails, as on a full disk
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed", host.reason("r1")
    assert "cannot record what the run made" in host.reason("r1")
    assert ran(log) == ["make-dataset", "destroy-dataset"], "undone at once, nothing after it"
    assert host.path(TARGET).read_text() == OLD
