"""The recap is plain on a terminal that cannot show colours (attack on issue 17): TERM=dumb
(Emacs' shell, some serial consoles) printed ESC[32m around the counts while the progress above
it was already plain lines."""

from __future__ import annotations

import sys

import pytest

from tests import test_tasks_api
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


def test_a_dumb_terminal_gets_no_colour_in_the_recap(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01", start="rolled-back")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    _, out, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert "rolled-back=1" in out and "\033[" not in out
