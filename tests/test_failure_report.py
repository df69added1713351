"""A failed or rolled-back host reads as the failing command, its exit status, its output and
the cause in words; the journal only with --verbose; ``bsdprov log`` prints a run's whole
journal (issue 17). In-process, through the api seam, with the journal txn.sh writes."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from bsdprov import api
from bsdprov.errors import ExitCode, UsageError
from bsdprov.failure import explain
from bsdprov.outcome import Outcome
from bsdprov.runlog import journal_script
from bsdprov.session import CommandResult
from bsdprov.testing import FakeTransport
from tests import test_tasks_api
from tests.test_tasks import EXAMPLE
from tests.test_tasks_api import RUN, FakeHost, Fleet, Run, ok, report

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov

# What txn.sh start reports for a run whose activation failed: its state, its reason (the
# failing step and the last lines of its output) and the journal's tail, route noise and all.
JOURNAL = (
    "2026-12-04T20:15:01Z state locked\n"
    "2026-12-04T20:15:01Z check (exit 0): sh /etc/netstart -n vio0\n"
    "2026-12-04T20:15:02Z timer armed: 120s\n"
    "2026-12-04T20:15:02Z step (exit 0): route -qn flush\n"
    "    | default            198.51.100.1       done\n"
    "    | 198.51.100.0/24    link#1             done\n"
    "2026-12-04T20:15:02Z step (exit 1): sh /etc/netstart vio0\n"
    "    | ifconfig: SIOCAIFADDR: File exists\n"
    "    | add net default: gateway 198.51.100.1: Network is unreachable\n"
    "2026-12-04T20:15:03Z step (exit 0): sh /etc/netstart vio0\n"
    "2026-12-04T20:15:03Z state rolled-back\n"
)
REASON = (
    "step failed (exit 1): sh /etc/netstart vio0: ifconfig: SIOCAIFADDR: File exists "
    "add net default: gateway 198.51.100.1: Network is unreachable"
)


@dataclass
class FailingHost(FakeHost):
    """A host whose run ends as ``state`` with ``reason`` and the journal above."""

    reason: str = REASON
    journal: str = JOURNAL
    runs: str = f"BSDPROV-LOG {RUN}\n{JOURNAL}"

    def respond(self, script: str) -> CommandResult:
        if "txn.sh start" in script:
            return ok(f"state={self.start}\nreason={self.reason}\njournal:\n{self.journal}")
        if "BSDPROV-LOG" in script:
            return ok(self.runs)
        return super().respond(script)


def failing(fleet: Fleet, name: str, **how: object) -> FailingHost:
    fleet.hosts[name] = FailingHost(name, **how)  # type: ignore[arg-type]
    return fleet.hosts[name]  # type: ignore[return-value]


def test_a_rolled_back_host_names_the_failing_step_its_exit_status_and_output(
    fleet: Fleet, bsdprov: Run
) -> None:
    failing(fleet, "web01", start="rolled-back")
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert code == ExitCode.ROLLED_BACK
    assert report(out) == (
        f"web01  rolled-back (run {RUN}): {REASON}\n"
        "       failed activation command: sh /etc/netstart vio0\n"
        "       exit status 1\n"
        "       its output (stdout and stderr):\n"
        "         | ifconfig: SIOCAIFADDR: File exists\n"
        "         | add net default: gateway 198.51.100.1: Network is unreachable\n"
        "       cause: an activation command failed, so the host put the old files back and "
        "re-ran their commands (rolled back)\n"
        f"       the whole journal: bsdprov log --host web01 --run {RUN}\n"
        "deploy: 1 host: 1 rolled back\n"
    )
    assert "step (exit" not in out and "route -qn flush" not in out, "no journal noise"


def test_verbose_adds_the_journal_tail(fleet: Fleet, bsdprov: Run) -> None:
    failing(fleet, "web01", start="rolled-back")
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes", "--verbose")
    assert code == ExitCode.ROLLED_BACK
    assert "       exit status 1\n" in out
    assert "       journal, last lines:\n" in out
    assert "       | 2026-12-04T20:15:02Z step (exit 0): route -qn flush\n" in out


def test_a_failed_os_check_says_nothing_changed(fleet: Fleet, bsdprov: Run) -> None:
    reason = (
        "check failed: sh /etc/netstart -n vio0: netstart: bad address; the old files are "
        "back, nothing was activated"
    )
    journal = (
        "2026-12-04T20:15:01Z check (exit 2): sh /etc/netstart -n vio0\n"
        "    | netstart: bad address\n"
    )
    failing(fleet, "web01", start="failed", reason=reason, journal=journal)
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert code == ExitCode.FAILED
    assert "failed OS check of the new files: sh /etc/netstart -n vio0\n" in out
    assert "       exit status 2\n" in out and "| netstart: bad address\n" in out
    assert "cause: the OS check of the new files failed before anything was activated" in out


def test_a_timer_rollback_names_the_login_and_the_change_that_moved_its_address(
    fleet: Fleet, bsdprov: Run
) -> None:
    # web01's confirming login goes to 203.0.113.21; the host's files had it, the plan drops it.
    inventory = api.check(EXAMPLE)
    host = inventory.hosts["web01"]
    outcome = api.plan(inventory, ["web01"], connect=lambda h: FakeHost("web01").connect())[0]
    assert outcome.plan is not None
    change = outcome.plan.changes[0]
    had = replace(change.before, content=f"inet {host.address} 255.255.255.255\n")
    moved = replace(change, before=had, after="inet 192.0.2.9 255.255.255.0\n")
    plan = replace(outcome.plan, changes=(moved,))
    timed_out = Outcome(
        "web01", "rolled-back", "not confirmed within 10s", plan, RUN, journal=JOURNAL
    )
    failure = explain(timed_out, f"admin@{host.address}:22")
    assert failure.command == ""
    assert failure.cause == (
        f"not confirmed: no new SSH login to admin@{host.address}:22 got through within 10 s of "
        "the timer's arming, so the host put the old files back and re-ran their commands "
        f"(rolled back); the plan took {host.address} out of {change.path}"
    )


def test_a_reason_not_understood_is_shown_as_it_is() -> None:
    outcome = Outcome("web01", "failed", "another run holds the lock: x by op, state activating")
    assert explain(outcome).cause == "another run holds the lock: x by op, state activating"


def test_secrets_in_a_failing_command_are_masked(fleet: Fleet, bsdprov: Run) -> None:
    reason = "step failed (exit 1): ifconfig wg0 wgkey c2VjcmV0: ifconfig: bad key"
    journal = "2026-12-04T20:15:02Z step (exit 1): ifconfig wg0 wgkey c2VjcmV0\n    | bad key\n"
    failing(fleet, "web01", start="rolled-back", reason=reason, journal=journal)
    _, out, _ = bsdprov("deploy", "--host", "web01", "--yes", "--verbose")
    assert "c2VjcmV0" not in out and "wgkey ********" in out


def test_log_prints_the_newest_runs_whole_journal(fleet: Fleet, bsdprov: Run) -> None:
    host = failing(fleet, "web01")
    code, out, err = bsdprov("log", "--host", "web01")
    assert (code, err) == (0, "")
    assert out == f"== web01 run {RUN}\n{JOURNAL}"
    assert host.uploads == 0 and len(host.sessions) == 1, "one read-only session"


def test_log_of_a_named_run_asks_for_that_run(fleet: Fleet, bsdprov: Run) -> None:
    host = failing(fleet, "web01")
    code, _, _ = bsdprov("log", "--host", "web01", "--run", RUN)
    assert code == 0
    assert f"id={RUN}\n" in host.sessions[0].scripts[0]


def test_log_of_a_host_without_runs_says_so(fleet: Fleet, bsdprov: Run) -> None:
    failing(fleet, "web01", runs="BSDPROV-LOG-NONE\n")
    code, out, err = bsdprov("log", "--host", "web01")
    assert (code, out) == (ExitCode.FAILED, "")
    assert err == "web01: no runs recorded; 'bsdprov history --host web01' lists them\n"


@pytest.mark.parametrize("argv", [("log",), ("log", "--host", "web01,obsd1")])
def test_log_takes_exactly_one_host(bsdprov: Run, argv: tuple[str, ...]) -> None:
    code, _, err = bsdprov(*argv)
    assert code == ExitCode.USAGE and "give one host" in err


def test_log_refuses_a_run_id_not_in_the_generated_form() -> None:
    with pytest.raises(UsageError, match="is not a run id"):
        journal_script("../../etc")


def test_the_api_reads_a_journal_through_the_connect_seam() -> None:
    reply = f"BSDPROV-LOG {RUN}\n2026-12-04T20:15:02Z step (exit 1): ifconfig wg0 wgkey abc\n"
    transport = FakeTransport([CommandResult(reply.encode(), b"", 0)])
    found = api.journal(EXAMPLE, "web01", connect=lambda host: transport)
    assert found.run_id == RUN
    assert found.journal == "2026-12-04T20:15:02Z step (exit 1): ifconfig wg0 wgkey ********\n"
