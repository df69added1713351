"""The question is asked where the person at the terminal sees it (attack on issue 17): with
stderr sent to a file ('2>deploy.log') it was written there, and the deploy sat waiting for an
answer to a question no one saw; an answer ended by Ctrl-D or Ctrl-C leaves what follows on a
line of its own."""

from __future__ import annotations

import io
import sys

import pytest

from bsdprov import approval
from bsdprov.errors import ExitCode
from tests import test_tasks_api
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov
QUESTION = "Deploy the changes above on 1 host: web01? Only 'yes' goes ahead: "


@pytest.fixture(autouse=True)
def stdin_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approval, "answerable", lambda: True)


def terminals(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Which of stdout and stderr are terminals (the captured streams are not)."""
    monkeypatch.setattr(
        approval,
        "_is_terminal",
        lambda stream: any(stream is getattr(sys, name) for name in names),
    )


def test_with_stderr_in_a_file_the_question_goes_to_the_terminal_on_stdout(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = fleet.add("web01")
    terminals(monkeypatch, "stdout")
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    code, out, err = bsdprov("deploy", "--host", "web01")
    assert code == ExitCode.FAILED and host.uploads == 0
    assert f"plan: 1 host: 1 with changes\n{QUESTION}" in out
    assert "Only 'yes'" not in err


def test_with_stderr_a_terminal_the_question_stays_off_stdout(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    terminals(monkeypatch, "stdout", "stderr")
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    _, out, err = bsdprov("deploy", "--host", "web01")
    assert QUESTION in err and "Only 'yes'" not in out


def test_an_answer_ended_by_end_of_input_leaves_the_message_on_its_own_line(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = fleet.add("web01")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # Ctrl-D at the question
    code, _, err = bsdprov("deploy", "--host", "web01")
    assert code == ExitCode.FAILED and host.uploads == 0
    assert err.endswith(f"{QUESTION}\ndeploy cancelled: nothing was applied\n")
