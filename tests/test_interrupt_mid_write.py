"""Ctrl-C while the main thread is writing a host's plan to stdout still prints the summary
(attack on issue 17): the handler's flush of stdout raised "reentrant call" there, and the
summary, the one thing Ctrl-C must print, was lost."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass

import pytest

from bsdprov.session import CommandResult
from tests import test_interrupt, test_tasks_api
from tests.test_interrupt import InterruptedHost
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov
exits = test_interrupt.exits
MID_WRITE = threading.Event()  # from the Ctrl-C on, stdout is inside a write


@dataclass
class PressedMidWrite(InterruptedHost):
    def respond(self, script: str) -> CommandResult:
        if self.when in script:
            MID_WRITE.set()
        return super().respond(script)


def test_the_summary_is_printed_when_stdout_is_mid_write(
    fleet: Fleet, bsdprov: Run, exits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    MID_WRITE.clear()
    flush = sys.stdout.flush

    def reentrant() -> None:
        if MID_WRITE.is_set():
            MID_WRITE.clear()  # only the handler's flush is inside the write
            raise RuntimeError("reentrant call inside <_io.BufferedWriter name='<stdout>'>")
        flush()

    monkeypatch.setattr(sys.stdout, "flush", reentrant)
    fleet.hosts["web01"] = PressedMidWrite("web01", when="BSDPROV-PROBE")
    code, _, err = bsdprov("plan", "--host", "web01")
    assert code == 130 and exits == [130]
    assert "interrupted (Ctrl-C): bsdprov stopped; each host:\n" in err
    assert "  web01: nothing was changed (was probing): read-only\n" in err
