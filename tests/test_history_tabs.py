"""A run whose reason holds a tab is still in the history.

txn.sh history prints a run a line, seven tab-separated fields, the reason last; the reason
quotes the failing command's output, and ifconfig indents its lines with tabs. parse_history
skipped every line that did not split into exactly seven: a rolled-back or rollback-failed run
vanished from 'bsdprov history', and 'bsdprov rollback' did not finish that failed rollback
before starting its own.
"""

from __future__ import annotations

from bsdprov import api
from bsdprov.run import RunState, parse_history
from tests.test_tasks import EXAMPLE
from tests.test_tasks_api import FakeHost

RUN = "20261204T201500Z-abc123"
# What txn.sh history printed (dash) for a run whose step printed ifconfig's output and failed,
# and whose rollback failed the same way (tests/onhost harness; the command shortened).
REASON = (
    "step failed (exit 1): sh /etc/netstart vio0: vio0: flags=8843<UP> \tinet 203.0.113.21 "
    "netmask 0xffffffff; the rollback itself failed at sh /etc/netstart vio0 (exit 1): vio0: "
    "flags=8843<UP> \tinet 203.0.113.21 netmask 0xffffffff; left to redo: sh /etc/netstart vio0"
)
LINE = f"{RUN}\trollback-failed\t2026-12-04T21:13:51Z\tci\tdeploy\t/etc/hostname.vio0\t{REASON}\n"


def test_a_reason_with_tabs_keeps_its_run() -> None:
    (record,) = parse_history(LINE)
    assert (record.run_id, record.state, record.user) == (RUN, RunState.ROLLBACK_FAILED, "ci")
    assert record.targets == ("/etc/hostname.vio0",)
    assert record.reason == REASON


def test_history_lists_it() -> None:
    host = FakeHost("web01", history=LINE)
    (runs,) = api.history(EXAMPLE, ["web01"], connect=lambda h: host.connect())
    assert runs.error is None and [r.state for r in runs.runs or ()] == ["rollback-failed"]


def test_a_rollback_first_finishes_that_failed_rollback() -> None:
    host = FakeHost("web01", history=LINE)
    api.rollback(EXAMPLE, ["web01"], connect=lambda h: host.connect())
    sent = [script for session in host.sessions for script in session.scripts]
    assert any(f"txn.sh resume {RUN}" in script for script in sent)


def test_a_reason_with_other_line_breaks_keeps_its_run() -> None:
    """str.splitlines() also cuts at form feeds, vertical tabs and \\x1c-\\x1e, which a
    command's output can hold; txn.sh ends its lines with \\n only."""
    reason = "step failed (exit 1): pfctl -f /etc/pf.conf: \x0c\x0b\x1c stray bytes"
    (record,) = parse_history(LINE.replace(REASON, reason))
    assert record.reason == reason
