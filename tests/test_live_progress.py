"""Live progress (issue 17): on a terminal each host's stage as it changes, so a host is never
silent for minutes; on a pipe only each host's result, as soon as it is known."""

from __future__ import annotations

import re
import sys

import pytest

from tests import test_tasks_api
from tests.test_tasks_api import RUN, Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


def test_on_a_terminal_that_cannot_redraw_each_stage_is_a_line_as_it_changes(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "dumb")  # the in-place display is tests/test_progress_display.py
    code, _, err = bsdprov("deploy", "--host", "web01", "--yes", "--confirm-timeout", "30")
    assert code == 0
    stages = [m.group(1) for m in re.finditer(r"^  web01: (.+) \(\d+\.\d s\)$", err, re.M)]
    assert stages[:3] == ["connecting", "probing", "uploading"]
    # The real clock runs: the seconds left are 30 or a little less, never more.
    timed = [re.sub(r"\b(30|2\d) s\b", "N s", stage) for stage in stages[3:]]
    assert timed == [
        f"checks, then activating (run {RUN})",
        "awaiting confirmation (the host's timer: N s)",
        "confirming (N s left on the host's timer)",
    ], "a new login to confirm does not hide the countdown behind 'connecting'"
    assert "\x1b[" not in err, "no cursor movement on a dumb terminal"
    assert err.rstrip().endswith("[1/1] web01: changed"), "then the result, as soon as known"


def test_on_a_pipe_only_results_are_printed(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    code, _, err = bsdprov("deploy", "--host", "web01,obsd1", "--yes")
    assert code == 0
    assert sorted(err.splitlines()) in (
        ["[1/2] obsd1: unchanged", "[2/2] web01: changed"],
        ["[1/2] web01: changed", "[2/2] obsd1: unchanged"],
    )
