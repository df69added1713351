"""history and verify exit with the documented precedence when hosts differ (console.EXIT_CODES:
1, then 4, then 3), not the numeric maximum: an unreachable host (3) must not hide a failed one."""

from __future__ import annotations

from bsdprov.errors import ExitCode
from bsdprov.fleet import worst
from bsdprov.session import CommandResult
from tests import test_tasks_api
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


def test_worst_follows_the_documented_order() -> None:
    assert worst([ExitCode.UNREACHABLE, ExitCode.FAILED]) == ExitCode.FAILED
    assert worst([ExitCode.UNREACHABLE, ExitCode.ROLLED_BACK]) == ExitCode.ROLLED_BACK
    assert worst([ExitCode.ROLLED_BACK, ExitCode.FAILED]) == ExitCode.FAILED
    assert worst([ExitCode.OK, ExitCode.UNREACHABLE]) == ExitCode.UNREACHABLE
    assert worst([]) == worst([ExitCode.OK]) == ExitCode.OK


def test_history_with_a_failed_and_an_unreachable_host_exits_1(fleet: Fleet, bsdprov: Run) -> None:
    broken = fleet.add("web01")
    # The history script itself fails on this host: a failed host, not an unreachable one.
    broken.respond = lambda script: CommandResult(b"", b"cannot read\n", 1)  # type: ignore[method-assign]
    fleet.add("obsd1", reachable=False)
    code, out, _ = bsdprov("history", "--host", "web01,obsd1")
    assert "web01: " in out and "obsd1: host 'obsd1': connection refused" in out
    assert code == ExitCode.FAILED


def test_verify_with_a_failing_check_and_an_unreachable_host_exits_1(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01", commands={"ifconfig vio0": "vio0: flags=8843<UP>"})
    fleet.add("obsd1", reachable=False)
    code, _, err = bsdprov("verify", "--host", "web01,obsd1")
    assert err == "verify failed on: web01, obsd1\n"
    assert code == ExitCode.FAILED


def test_verify_with_only_an_unreachable_host_exits_3(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    fleet.add("obsd1", reachable=False)
    code, _, err = bsdprov("verify", "--host", "web01,obsd1")
    assert err == "verify failed on: obsd1\n"
    assert code == ExitCode.UNREACHABLE
