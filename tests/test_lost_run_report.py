"""A host whose run was started and then lost by an unexpected error says so (attack on issue
17): its outcome carries the run id and what the host does by itself, instead of a bare
"internal error" that left the user thinking nothing had happened on it."""

from __future__ import annotations

from dataclasses import dataclass

from bsdprov.errors import ExitCode, ProbeError
from bsdprov.session import CommandResult
from tests import test_tasks_api
from tests.test_tasks_api import RUN, FakeHost, Fleet, Run, report

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


@dataclass
class ConfirmBreaks(FakeHost):
    """The run starts and awaits its confirmation; confirming it then hits an unexpected error
    (a bug, or an answer bsdprov cannot read)."""

    error: Exception = RuntimeError("boom")

    def respond(self, script: str) -> CommandResult:
        if "txn.sh confirm" in script:
            raise self.error
        return super().respond(script)


def test_an_internal_error_after_the_start_names_the_run_and_the_hosts_timer(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.hosts["web01"] = ConfirmBreaks("web01")
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes", "--confirm-timeout", "30")
    assert code == ExitCode.FAILED
    line = report(out).splitlines()[0]
    assert line.startswith(f"web01  failed (run {RUN}): internal error: RuntimeError: boom"), line
    assert (
        f"run {RUN} was started on the host and bsdprov lost track of it: unless confirmed, "
        "the host's timer rolls it back 30 s after arming it"
    ) in out


def test_a_bsdprov_error_after_the_start_names_the_run_too(fleet: Fleet, bsdprov: Run) -> None:
    fleet.hosts["web01"] = ConfirmBreaks("web01", error=ProbeError("the answer was cut short"))
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes", "--no-confirm")
    assert code == ExitCode.FAILED
    assert f"web01  failed (run {RUN}): the answer was cut short; run {RUN} was started" in out
    assert "no timer was armed (--no-confirm): the host keeps what the run ends with" in out
