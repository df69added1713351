"""The recap at the end of every fleet task (issue 17): per host ok/changed/failed/rolled-back/
unreachable/skipped, the totals and what the exit code means; colour only on a terminal and
never with NO_COLOR. Hosts a --max-fail rollout did not start are skipped, not failed."""

from __future__ import annotations

import sys

import pytest

from bsdprov.errors import ExitCode
from bsdprov.recap import recap_text
from tests import test_tasks_api
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov

HISTORY = "20261204T201500Z-abc123\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\t\n"


def recap_of(out: str) -> list[str]:
    return out[out.index(" RECAP\n") :].splitlines()[1:]


def test_a_deploy_recap_counts_each_host_and_says_what_the_exit_code_means(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01")
    fleet.add("db01", start="rolled-back")
    fleet.add("obsd1", reachable=False)
    code, out, _ = bsdprov("deploy", "--host", "web01,db01,obsd1", "--yes")
    assert code == ExitCode.ROLLED_BACK
    assert "\n\nDEPLOY RECAP\n" in out, "after the report, a blank line apart"
    assert recap_of(out) == [
        "web01 : ok=1  changed=1  failed=0  rolled-back=0  unreachable=0  skipped=0",
        "db01  : ok=0  changed=0  failed=0  rolled-back=1  unreachable=0  skipped=0",
        "obsd1 : ok=0  changed=0  failed=0  rolled-back=0  unreachable=1  skipped=0",
        "total : ok=1  changed=1  failed=0  rolled-back=1  unreachable=1  skipped=0",
        "exit 4: a host rolled back",
    ]


def test_hosts_a_max_fail_rollout_did_not_start_are_skipped_not_failed(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01", start="rolled-back")
    untouched = fleet.add("obsd1")
    argv = ("deploy", "--host", "web01,obsd1", "--serial", "1", "--max-fail", "0", "--yes")
    code, out, err = bsdprov(*argv)
    assert code == ExitCode.ROLLED_BACK, "the failure that stopped the rollout decides"
    assert "obsd1  skipped: not started: more than 0 host(s) failed in earlier batches" in out
    assert "deploy: 2 hosts: 1 rolled back, 1 skipped" in out
    assert recap_of(out)[1] == (
        "obsd1 : ok=0  changed=0  failed=0  rolled-back=0  unreachable=0  skipped=1"
    )
    assert "[2/2] obsd1: skipped" in err
    assert untouched.sessions == []


def test_plan_history_and_verify_end_with_a_recap_too(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01", history=HISTORY)
    fleet.add("obsd1", reachable=False)
    code, out, _ = bsdprov("plan", "--host", "web01", "--detailed-exitcode")
    assert code == ExitCode.CHANGES_PENDING
    assert recap_of(out)[-2:] == [
        "total : ok=1  changed=1  failed=0  rolled-back=0  unreachable=0  skipped=0",
        "exit 5: changes are pending (--detailed-exitcode)",
    ]
    code, out, _ = bsdprov("history", "--host", "web01,obsd1")
    assert code == ExitCode.UNREACHABLE and "\nHISTORY RECAP\n" in out
    assert recap_of(out)[1].startswith("obsd1 : ok=0  changed=0  failed=0  rolled-back=0  unr")
    code, out, _ = bsdprov("verify", "--host", "web01")
    assert code == ExitCode.OK
    assert recap_of(out)[-1] == "exit 0: every host done (or nothing to do)"


def test_json_output_carries_no_recap(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    _, out, _ = bsdprov("plan", "--host", "web01", "--json")
    assert "RECAP" not in out and out.rstrip().endswith("}")


def test_colour_on_a_terminal_and_never_with_no_color(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01", start="rolled-back")
    _, piped, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert "\033[" not in piped
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")  # TERM=dumb has no colour
    _, coloured, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert "\033[31mrolled-back=1\033[0m" in coloured and "ok=0  " in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    _, plain, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert "\033[" not in plain


def test_a_status_outside_the_columns_counts_as_failed() -> None:
    text = recap_text("deploy", [("web01", "weird")], ExitCode.FAILED)
    assert "web01 : ok=0  changed=0  failed=1" in text
