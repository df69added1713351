"""Progress when stdout is a pipe and stderr the terminal (attack on issue 17): 'bsdprov plan
--all | tee plan.log' printed the plans through tee onto the same terminal the live display
redrew, and its redraw erased them (on a lab of 30 hosts, not one '== HOST' line was left on
the screen). Behind a pipe the stage changes are plain lines; a file or /dev/null keeps the
display."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bsdprov.tasks import _display_kind, _through_a_pipe
from tests import test_tasks_api
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


def test_a_pipe_may_reach_the_terminal_a_file_or_dev_null_cannot(tmp_path: Path) -> None:
    read, write = os.pipe()
    with os.fdopen(read) as _, os.fdopen(write, "w") as pipe:
        assert _through_a_pipe(pipe) is True
    with open(tmp_path / "plan.log", "w") as file:
        assert _through_a_pipe(file) is False
    with open(os.devnull, "w") as null:
        assert _through_a_pipe(null) is False


def test_behind_a_pipe_the_stages_are_lines_not_a_redrawn_display(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    read, write = os.pipe()
    with os.fdopen(read) as _, os.fdopen(write, "w") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
        monkeypatch.setenv("TERM", "xterm-256color")
        assert _display_kind() == "lines"


def test_a_plan_behind_a_pipe_keeps_every_host_and_draws_nothing_in_place(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The captured stdout stands for the pipe (no file behind it); stderr is the terminal.
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm-256color")
    code, out, err = bsdprov("plan", "--host", "web01,obsd1")
    assert code == 0
    assert "== web01 (openbsd): 4 files to change" in out and "== obsd1 (openbsd)" in out
    assert "\x1b" not in err, "no cursor movement that could erase the pipe's lines"
    assert "  web01: probing (" in err
