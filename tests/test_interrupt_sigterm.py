"""A SIGTERM (kill, timeout(1), a service manager stopping the job) says per host what it
will do by itself, as Ctrl-C does, and exits 143 (attack on issue 17): it killed bsdprov
silently, leaving no word of the runs started and, on a terminal, the cursor hidden by the
live display."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from bsdprov.session import CommandResult
from tests import test_interrupt, test_tasks_api
from tests.test_interrupt import STOPPED, InterruptedHost
from tests.test_tasks_api import RUN, Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov
exits = test_interrupt.exits


@dataclass
class TerminatedHost(InterruptedHost):
    """A host during whose ``when`` script bsdprov is sent SIGTERM."""

    def respond(self, script: str) -> CommandResult:
        if self.when in script:
            os.kill(os.getpid(), signal.SIGTERM)
            assert STOPPED.wait(10), "the SIGTERM handler never ran"
        return super(InterruptedHost, self).respond(script)


def test_sigterm_during_a_run_says_what_each_host_does_and_exits_143(
    fleet: Fleet, bsdprov: Run, exits: list[int]
) -> None:
    fleet.hosts["web01"] = TerminatedHost("web01")
    code, _, err = bsdprov("deploy", "--host", "web01", "--yes", "--confirm-timeout", "45")
    assert code == 143 and exits == [143]
    assert err.startswith("\nterminated (SIGTERM): bsdprov stopped; each host:\n")
    assert f"  web01: run {RUN} was starting; unless confirmed, the host's timer " in err


def test_both_handlers_are_restored_after_the_task(fleet: Fleet, bsdprov: Run) -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    fleet.add("web01", in_sync=True)
    assert bsdprov("plan", "--host", "web01")[0] == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
