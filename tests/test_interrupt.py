"""Ctrl-C (issue 17): printed at once, per host, the run id, the state it was in and what the
host does by itself (its timer's deadline, from the host's confirm timeout, or nothing changed);
exit 130. In-process: a real SIGINT delivered while a fake host is in its run's start."""

from __future__ import annotations

import datetime
import os
import re
import signal
import threading
from dataclasses import dataclass

import pytest

from bsdprov import interrupt
from bsdprov.errors import ExitCode
from bsdprov.interrupt import INTERRUPTED, interrupted_text, what_happens
from bsdprov.outcome import Outcome
from bsdprov.session import CommandResult
from bsdprov.watch import STARTED, HostWatch, Watch
from tests import test_tasks_api
from tests.test_tasks_api import RUN, FakeHost, Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov

STOPPED = threading.Event()  # set once the Ctrl-C handler has exited
SENT = datetime.datetime(2026, 12, 4, 21, 30, 5, tzinfo=datetime.UTC)


@dataclass
class InterruptedHost(FakeHost):
    """A host during whose ``when`` script the user presses Ctrl-C."""

    when: str = "txn.sh start"

    def respond(self, script: str) -> CommandResult:
        if self.when in script:
            os.kill(os.getpid(), signal.SIGINT)
            # A real host is still busy with the script when the handler runs: hold it there.
            assert STOPPED.wait(10), "the Ctrl-C handler never ran"
        return super().respond(script)


@pytest.fixture
def exits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """os._exit as a SystemExit the test can catch (the real one would end pytest)."""
    codes: list[int] = []
    STOPPED.clear()

    def leave(code: int) -> None:
        codes.append(code)
        STOPPED.set()
        raise SystemExit(code)

    monkeypatch.setattr(interrupt, "_exit_now", leave)
    return codes


def hhmmss(text: str) -> list[datetime.timedelta]:
    return [
        datetime.timedelta(hours=int(h), minutes=int(m), seconds=int(s))
        for h, m, s in re.findall(r"(\d\d):(\d\d):(\d\d) UTC", text)
    ]


def test_ctrl_c_during_a_run_says_its_id_state_and_timer_deadline_and_exits_130(
    fleet: Fleet, bsdprov: Run, exits: list[int]
) -> None:
    fleet.hosts["web01"] = InterruptedHost("web01")
    fleet.add("obsd1", reachable=False)
    argv = ("deploy", "--host", "web01,obsd1", "--yes", "--confirm-timeout", "45")
    code, out, err = bsdprov(*argv)
    assert code == INTERRUPTED == 130 and exits == [130]
    assert "DEPLOY RECAP" not in out, "no report: it stopped at once"
    assert err.count("interrupted (Ctrl-C)") == 1
    line = next(x for x in err.splitlines() if x.startswith("  web01: "))
    assert line.startswith(f"  web01: run {RUN} was starting; unless confirmed, the host's timer ")
    deadline, sent = hhmmss(line)
    assert (deadline - sent) % datetime.timedelta(days=1) == datetime.timedelta(seconds=45)
    assert "by this machine's clock" in line and "at the earliest" in line
    assert any(
        x.startswith("  obsd1: ") and ("nothing was changed" in x or "already finished" in x)
        for x in err.splitlines()
    )


def test_ctrl_c_before_any_run_started_says_nothing_changed(
    fleet: Fleet, bsdprov: Run, exits: list[int]
) -> None:
    fleet.hosts["web01"] = InterruptedHost("web01", when="BSDPROV-PROBE")
    code, _, err = bsdprov("deploy", "--host", "web01", "--yes")
    assert code == 130
    assert "  web01: nothing was changed (was probing): its run had not started\n" in err


def test_ctrl_c_during_a_read_only_task_says_nothing_changed(
    fleet: Fleet, bsdprov: Run, exits: list[int]
) -> None:
    fleet.hosts["web01"] = InterruptedHost("web01", when="BSDPROV-PROBE")
    code, _, err = bsdprov("plan", "--host", "web01")
    assert code == 130 and "  web01: nothing was changed (was probing): read-only\n" in err


def test_no_timer_says_the_host_finishes_the_run_by_itself() -> None:
    started = HostWatch("web01", STARTED, run_id=RUN, started_at=SENT)
    assert what_happens(started, None) == (
        f"web01: run {RUN} was starting; no timer was armed (--no-confirm): the host finishes "
        "the run by itself and keeps what it ends with (rolled back only if a step or check fails)"
    )


def test_a_run_being_confirmed_may_already_be_confirmed() -> None:
    confirming = HostWatch("web01", "confirming", run_id=RUN, started_at=SENT)
    assert what_happens(confirming, 120) == (
        f"web01: run {RUN} was confirming (it may already be confirmed); unless confirmed, the "
        "host's timer rolls it back at 21:32:05 UTC at the earliest (120 s after the timer is "
        "armed; the start was sent at 21:30:05 UTC by this machine's clock, and the host arms "
        "the timer after its checks, so a little later)"
    )


def test_a_finished_host_is_said_finished() -> None:
    watch = Watch()
    watch.expect(["web01"])
    watch.finished(Outcome("web01", "changed", run_id=RUN))
    assert interrupted_text(watch, 120) == (
        "interrupted (Ctrl-C): bsdprov stopped; each host:\n"
        f"  web01: already finished: changed (run {RUN})\n"
    )


def test_the_handler_is_restored_after_the_task(fleet: Fleet, bsdprov: Run) -> None:
    before = signal.getsignal(signal.SIGINT)
    fleet.add("web01", in_sync=True)
    assert bsdprov("plan", "--host", "web01")[0] == ExitCode.OK
    assert signal.getsignal(signal.SIGINT) is before
