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


def test_on_a_terminal_each_stage_is_shown_as_it_changes(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, _, err = bsdprov("deploy", "--host", "web01", "--yes")
    assert code == 0
    stages = [m.group(1) for m in re.finditer(r"^  web01: (.+) \(\d+\.\d s\)$", err, re.M)]
    assert stages[:3] == ["connecting", "probing", "uploading"]
    assert f"started run {RUN}" in stages and stages[-1] == "confirming"
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
