"""What 'yes' applies is the plan that was shown (attack on issue 17): a host whose files, or
whose run to undo, changed between the question and the apply is refused, naming what changed,
with nothing sent; the plan shown is never silently swapped for a newer one no one saw."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bsdprov import approval
from bsdprov.errors import ExitCode
from bsdprov.session import CommandResult
from tests import test_tasks_api
from tests.test_tasks_api import RUN, FakeHost, Fleet, Run, ok, report

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov

HISTORY = f"{RUN}\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\t\n"


@pytest.fixture(autouse=True)
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approval, "answerable", lambda: True)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("yes\n"))


@dataclass
class EditedWhileAsking(FakeHost):
    """A host on which someone writes /etc/mygate while the operator reads the plan: every probe
    after the first sees it (as another admin's edit, or another bsdprov's deploy, would be)."""

    probes: int = 0

    def respond(self, script: str) -> CommandResult:
        probe = "BSDPROV-PROBE" in script and not any(
            word in script
            for word in ("txn.sh start", "txn.sh confirm", "BSDPROV-VERIFY", "backup/index")
        )
        if probe:
            self.probes += 1
            if self.probes > 1:
                edited = "192.0.2.99\n"
                return ok(
                    "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
                    f"file {len(edited)} -rw-r--r-- root wheel /etc/mygate\n{edited}\n"
                    "BSDPROV-PROBE-END\n"
                )
        return super().respond(script)


def test_a_host_changed_after_its_plan_was_shown_is_refused_naming_the_file(
    fleet: Fleet, bsdprov: Run
) -> None:
    host = EditedWhileAsking("web01")
    fleet.hosts["web01"] = host
    code, out, err = bsdprov("deploy", "--host", "web01")
    assert "Deploy the changes above on 1 host: web01?" in err
    assert host.probes == 2, "planned once to show, once right before applying"
    assert code == ExitCode.FAILED
    assert (
        "web01  failed: host 'web01': not the plan shown above: /etc/mygate changed on the "
        "host since the plan was shown; nothing was changed"
    ) in report(out)
    assert host.uploads == 0, "nothing sent: the new plan was never shown"


def test_a_host_unchanged_since_it_was_shown_is_applied(fleet: Fleet, bsdprov: Run) -> None:
    host = fleet.add("web01")
    code, out, _ = bsdprov("deploy", "--host", "web01")
    assert code == ExitCode.OK and f"web01  changed (run {RUN})" in report(out)
    assert host.uploads == 1


@dataclass
class DeployedWhileAsking(FakeHost):
    """A host that a colleague deploys to while the operator reads the rollback's plan: its
    files change, so what the rollback would put back is not what was shown."""

    probes: int = 0

    def respond(self, script: str) -> CommandResult:
        if "BSDPROV-PROBE" in script and not any(
            word in script
            for word in ("txn.sh start", "txn.sh confirm", "BSDPROV-VERIFY", "backup/index")
        ):
            self.probes += 1
            if self.probes > 1:
                edited = "192.0.2.99\n"
                return ok(
                    "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
                    f"file {len(edited)} -rw-r--r-- root wheel /etc/mygate\n{edited}\n"
                    "BSDPROV-PROBE-END\n"
                )
        return super().respond(script)


def test_a_rollback_whose_host_changed_after_it_was_shown_is_refused(
    fleet: Fleet, bsdprov: Run
) -> None:
    host = DeployedWhileAsking("web01", in_sync=True, history=HISTORY)
    fleet.hosts["web01"] = host
    code, out, err = bsdprov("rollback", "--host", "web01")
    assert "Rollback the changes above on 1 host: web01?" in err
    assert code == ExitCode.FAILED, out
    assert "not the plan shown above: /etc/mygate changed on the host since" in report(out)
    assert host.uploads == 0
