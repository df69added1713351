"""deploy and rollback show the plan and ask before they change a host (issue 17): with a
terminal the answer decides; without one they refuse unless --yes, before any host is touched."""

from __future__ import annotations

import io

import pytest

from bsdprov import approval
from bsdprov.errors import ExitCode
from tests import test_tasks_api
from tests.test_tasks_api import RUN, Fleet, Run, report

# The in-process fleet and command of the api seam's tests.
fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov

HISTORY = f"{RUN}\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\t\n"


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stdin is a terminal; the answer is set per test with ``answer``."""
    monkeypatch.setattr(approval, "answerable", lambda: True)


def answer(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_without_a_terminal_deploy_refuses_before_touching_a_host(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01")
    code, out, err = bsdprov("deploy", "--host", "web01")
    assert (code, out) == (ExitCode.USAGE, "")
    assert "stdin is not a terminal" in err and "pass --yes to deploy" in err
    assert fleet.hosts["web01"].sessions == [], "no host was contacted"


def test_without_a_terminal_rollback_refuses_too(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01", in_sync=True, history=HISTORY)
    code, _, err = bsdprov("rollback", "--host", "web01")
    assert code == ExitCode.USAGE and "pass --yes to rollback" in err
    assert fleet.hosts["web01"].sessions == []


def test_yes_applies_without_a_terminal_and_without_asking(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, err = bsdprov("deploy", "--host", "web01", "--yes")
    assert code == ExitCode.OK and "Only 'yes'" not in err
    assert out.startswith(f"web01  changed (run {RUN})")
    assert fleet.hosts["web01"].uploads == 1


def test_a_dry_run_needs_no_terminal(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, _ = bsdprov("deploy", "--host", "web01", "--dry-run")
    assert code == ExitCode.OK and "files to change" in out


@pytest.mark.usefixtures("terminal")
def test_at_a_terminal_yes_applies_what_was_shown(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    answer(monkeypatch, "yes\n")
    code, out, err = bsdprov("deploy", "--host", "web01")
    assert code == ExitCode.OK
    plan, _, report = out.partition("plan: 1 host: 1 with changes\n")
    assert "== web01 (openbsd): 4 files to change" in plan and "+198.51.100.1" in plan
    assert report.startswith(f"web01  changed (run {RUN})")
    assert "Deploy the changes above on 1 host: web01?" in err
    assert fleet.hosts["web01"].uploads == 1


@pytest.mark.parametrize("reply", ["no\n", "y\n", "", "yes please\n"])
@pytest.mark.usefixtures("terminal")
def test_at_a_terminal_anything_but_yes_applies_nothing(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch, reply: str
) -> None:
    fleet.add("web01")
    answer(monkeypatch, reply)
    code, out, err = bsdprov("deploy", "--host", "web01")
    assert code == ExitCode.FAILED
    assert "files to change" in out and "changed (run" not in out
    assert err.endswith("deploy cancelled: nothing was applied\n")
    assert fleet.hosts["web01"].uploads == 0


@pytest.mark.usefixtures("terminal")
def test_at_a_terminal_nothing_to_change_asks_nothing(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01", in_sync=True)
    answer(monkeypatch, "")
    code, out, err = bsdprov("deploy", "--host", "web01")
    assert code == ExitCode.OK and "no changes" in out
    assert err == "deploy: nothing to change; nothing was applied\n"


@pytest.mark.usefixtures("terminal")
def test_a_host_without_a_plan_is_left_out_and_keeps_its_failure(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    dead = fleet.add("obsd1", reachable=False)
    answer(monkeypatch, "yes\n")
    code, out, err = bsdprov("deploy", "--host", "web01,obsd1")
    assert "on 1 host: web01 (obsd1 left out: no plan to show)?" in err
    assert code == ExitCode.UNREACHABLE
    assert f"web01  changed (run {RUN})" in out
    assert "obsd1  unreachable: host 'obsd1': connection refused" in out
    assert fleet.hosts["web01"].uploads == 1 and dead.uploads == 0


@pytest.mark.usefixtures("terminal")
def test_at_a_terminal_rollback_shows_what_it_puts_back_and_asks(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = fleet.add("web01", in_sync=True, history=HISTORY)
    answer(monkeypatch, "no\n")
    code, out, err = bsdprov("rollback", "--host", "web01")
    assert code == ExitCode.FAILED and "-198.51.100.1" in out
    assert "Rollback the changes above on 1 host: web01?" in err
    assert host.uploads == 0
    answer(monkeypatch, "yes\n")
    code, out, _ = bsdprov("rollback", "--host", "web01")
    assert code == ExitCode.OK and report(out).endswith("rollback: 1 host: 1 changed\n")
    assert host.uploads == 1


def test_answerable_is_false_without_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    answer(monkeypatch, "yes\n")
    assert approval.answerable() is False
