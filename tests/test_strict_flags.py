"""Consistent, strict flags (issue 17): a short option means the same in every command, options
that do not apply are refused with a message before any host is contacted, --json exists for
check, history, verify and a real deploy, and an unknown option suggests the nearest one."""

from __future__ import annotations

import json
import re

import pytest

from bsdprov.errors import ExitCode
from bsdprov.short_options import SHORT
from bsdprov.tasks import ns
from tests import test_tasks_api
from tests.test_tasks import EXAMPLE, run
from tests.test_tasks_api import RUN, Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


def test_each_short_option_means_one_thing_in_every_command() -> None:
    meaning: dict[str, set[str]] = {}
    for name in ns.task_names:  # the lab's tasks too: lab.up's -h was --hosts
        for argument in ns[name].get_arguments():
            for short in (n for n in argument.names if len(n) == 1):
                meaning.setdefault(short, set()).add(argument.name)
    assert all(len(names) == 1 for names in meaning.values()), meaning
    assert meaning["d"] == {"dry_run"} and meaning["r"] == {"run"}
    assert set(meaning) <= set(SHORT.values())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("deploy", "--host", "web01", "--json"), "deploy --json: the plan is shown"),
        (("deploy", "--host", "web01", "--yes", "--dry-run"), "--yes does not apply"),
        (("deploy", "--host", "web01", "--dry-run", "--verbose"), "deploy --verbose"),
        (("deploy", "--host", "web01", "--yes", "--max-fail", "1"), "--max-fail 1: it applies"),
        (("deploy", "--host", "web01", "--yes", "--parallel", "0"), "--parallel 0: give"),
        (("plan", "--host", "web01", "--parallel", "0"), "--parallel 0: give"),
        (("deploy", "--host", "web01", "--yes", "--confirm-timeout", "5"), "at least 10 seconds"),
        (("rollback", "--host", "web01", "--json"), "rollback --json: the plan is shown"),
        (("deploy", "--host", "web01", "--dry-run", "--serial", "2"), "--serial applies to"),
        (("deploy", "--host", "web01", "--dry-run", "--no-confirm"), "--no-confirm applies to"),
        (
            ("deploy", "--host", "web01", "--dry-run", "--confirm-timeout", "60"),
            "--confirm-timeout applies to a real deploy only",
        ),
        (
            ("rollback", "--host", "web01", "--dry-run", "--no-confirm", "-c", "60"),
            "--no-confirm, --confirm-timeout apply to a real rollback only",
        ),
    ],
)
def test_options_that_do_not_apply_are_refused_before_any_host(
    fleet: Fleet, bsdprov: Run, argv: tuple[str, ...], message: str
) -> None:
    host = fleet.add("web01")
    code, out, err = bsdprov(*argv)
    assert (code, out) == (ExitCode.USAGE, "")
    assert message in err
    assert host.sessions == []


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("--dryrun", "--dry-run"), ("--detailed-exit-code", "--detailed-exitcode")],
)
def test_an_unknown_option_suggests_the_nearest(
    capsys: pytest.CaptureFixture[str], typo: str, meant: str
) -> None:
    task = "plan" if "detailed" in typo else "deploy"
    code, _, err = run(capsys, task, "--host", "web01", typo, "-i", EXAMPLE)
    assert code == ExitCode.USAGE
    assert err == f"bsdprov: no option {typo!r}; did you mean {meant}?\n"


def test_a_real_deploy_prints_its_result_as_json(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01", start="rolled-back")
    fleet.add("obsd1", in_sync=True)
    code, out, _ = bsdprov("deploy", "--host", "web01,obsd1", "--yes", "--json")
    assert code == ExitCode.ROLLED_BACK
    document = json.loads(out)
    assert document["format_version"] == 1 and document["exit_code"] == 4
    web01, obsd1 = document["hosts"]
    assert (web01["status"], web01["run_id"]) == ("rolled-back", RUN)
    assert web01["failure"]["command"] == "netstart"
    assert web01["failure"]["exit_status"] == 1
    assert obsd1 == {
        "name": "obsd1",
        "status": "unchanged",
        "run_id": None,
        "reason": "",
        "warnings": [],
        "failure": None,
    }


def test_history_and_check_print_json(fleet: Fleet, bsdprov: Run) -> None:
    history = f"{RUN}\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\tconfirmed\n"
    fleet.add("web01", history=history)
    fleet.add("obsd1", reachable=False)
    code, out, _ = bsdprov("history", "--host", "web01,obsd1", "--json")
    assert code == ExitCode.UNREACHABLE
    web01, obsd1 = json.loads(out)["hosts"]
    assert web01["runs"][0]["run_id"] == RUN and web01["runs"][0]["files"] == ["/etc/mygate"]
    assert obsd1["runs"] == [] and "connection refused" in obsd1["error"]
    code, out, _ = bsdprov("check", "--json")
    assert code == 0
    hosts = {h["name"]: h for h in json.loads(out)["hosts"]}
    assert hosts["web01"]["address"] == "203.0.113.21" and hosts["web01"]["os"] == "openbsd"


def test_help_lists_short_options_only_from_the_shared_set(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "deploy", "--help")
    assert code == 0
    shorts = set(re.findall(r"^  -([a-z])[ ,]", out, re.M))
    assert shorts == {"a", "c", "d", "g", "h", "i", "j", "p", "s", "v", "y"}


@pytest.mark.parametrize("argv", [("--help",), ("deploy", "--help"), ("plan", "--help")])
def test_help_lists_the_exit_codes(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "\nExit codes:\n" in out
    for line in ("  2    bad arguments", "  4    a host rolled back", "  130  interrupted"):
        assert line in out
