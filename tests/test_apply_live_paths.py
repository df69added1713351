"""The live paths without a host or a real clock: the confirmation's deadline and its
"state unknown" answers, history, verify and rollback planning, each over ``FakeTransport``
and, where time matters, a ``FakeClock``."""

from __future__ import annotations

import pytest

from bsdprov.apply import (
    DeployOptions,
    deploy_one,
    history_one,
    rollback_outcome,
    rollback_plan,
    verify_one,
)
from bsdprov.errors import ApplyError, ConnectError, UsageError
from bsdprov.model import Host
from bsdprov.run import history_script
from bsdprov.testing import FakeClock, FakeTransport, answer
from bsdprov.verify import MARK
from tests.test_apply import FRESH_OPENBSD, OBSD1, Connections, ok

AWAITING = "state=awaiting-confirm\nreason=\nalive=yes\njournal:\n"
REFUSED = ConnectError("connection refused", host="obsd1", cause="refused")
RUN = "20261123T151733Z-e33f37"


class Refusing:
    """``connect`` for a host no new connection reaches, counting the attempts."""

    def __init__(self, first: FakeTransport) -> None:
        self.first = first
        self.attempts = 0

    def __call__(self, host: Host) -> FakeTransport:
        if not self.first.scripts:
            return self.first
        self.attempts += 1
        raise REFUSED


def test_a_confirmation_no_connection_can_give_ends_at_its_deadline() -> None:
    clock = FakeClock()
    first = FakeTransport([ok(FRESH_OPENBSD), ok(AWAITING)])
    connect = Refusing(first)
    options = DeployOptions(confirm_timeout=30, step_timeout=10, clock=clock)
    outcome = deploy_one(connect, OBSD1, "R1", options)
    assert outcome.status == "unreachable"
    assert outcome.reason == (
        "no new SSH connection could confirm the run (connection refused); if the run started, "
        "its timer rolls it back 30s after it was armed"
    )
    # The deadline: the timer's 30 s, a step's 10 s, 15 s of grace; one try every 2 s.
    assert clock.now - 1000.0 == 56 and connect.attempts == 28
    assert set(clock.slept) == {2}


def test_a_confirmation_that_gets_through_late_still_counts() -> None:
    clock = FakeClock()
    first = FakeTransport([ok(FRESH_OPENBSD), ok(AWAITING)])
    answering = FakeTransport([ok("state=applied\nreason=confirmed over a new SSH connection\n")])
    tries: list[ConnectError | FakeTransport] = [REFUSED, REFUSED, answering]

    def connect(host: Host) -> FakeTransport:
        if not first.scripts:
            return first
        got = tries.pop(0)
        if isinstance(got, ConnectError):
            raise got
        return got

    outcome = deploy_one(connect, OBSD1, "R1", DeployOptions(clock=clock))
    assert (outcome.status, outcome.reason) == ("changed", "confirmed over a new SSH connection")
    assert clock.slept == [2, 2] and answering.closed


def test_a_start_that_recorded_no_state_changed_nothing_and_is_not_confirmed() -> None:
    first = FakeTransport([ok(FRESH_OPENBSD), ok("")])
    connections = Connections(first)
    outcome = deploy_one(connections, OBSD1, "R1", DeployOptions(clock=FakeClock()))
    assert outcome.status == "failed"
    assert outcome.reason == (
        "the run did not start on the host: txn.sh start recorded no state; nothing was changed"
    )
    assert connections.opened == [first], "no confirming connection for a run that never ran"


def test_a_host_with_no_such_run_is_told_apart_from_one_that_never_decides() -> None:
    clock = FakeClock()
    first = FakeTransport([ok(FRESH_OPENBSD), ConnectError("lost", host="obsd1", cause="other")])
    unknown = FakeTransport([answer("", "txn: no run R1\n", 2)])
    outcome = deploy_one(Connections(first, unknown), OBSD1, "R1", DeployOptions(clock=clock))
    assert outcome.status == "failed"
    assert outcome.reason == "the host has no run R1: it never started; nothing was changed"
    assert clock.slept == []


def test_history_reads_the_runs_oldest_first_and_skips_what_is_not_a_record() -> None:
    reply = (
        f"{RUN}\tapplied\t2026-11-23T15:17:33Z\top@admin\tdeploy\t/etc/hostname.vio0\tconfirmed\n"
        "txn: a warning on stdout\n"
        "20261124T000000Z-000001\trolled-back\t-\top@admin\tdeploy\t-\ttimer\n"
    )
    fake = FakeTransport([ok(reply)])
    runs = history_one(fake)
    assert fake.scripts == [history_script()]
    assert [(r.run_id, r.state, r.targets) for r in runs] == [
        (RUN, "applied", ("/etc/hostname.vio0",)),
        ("20261124T000000Z-000001", "rolled-back", ()),
    ]


def test_verify_reports_each_check_with_its_evidence() -> None:
    uname = "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nBSDPROV-PROBE-END\n"
    output = (
        f"{MARK} 0\nvio0: flags=8843<UP>\n\tinet 203.0.113.12 netmask 0xffffffff\n{MARK}-RC 0\n"
        f"{MARK} 1\nroute: writing to routing socket: No such process\n{MARK}-RC 1\n"
    )
    fake = FakeTransport([ok(uname), ok(output)])
    results = verify_one(fake, OBSD1)
    assert [(r.passed, r.evidence) for r in results] == [
        (True, "inet 203.0.113.12 netmask 0xffffffff"),
        (False, "route: writing to routing socket: No such process"),
    ]
    assert "ifconfig vio0" in fake.scripts[1]


BACKUP = (
    "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
    "file 15 -rw-r--r-- root wheel /etc/hostname.vio0\ninet 192.0.2.1\n\n"
    "absent /etc/mygate\nBSDPROV-PROBE-END\n"
    "steps:\nsh /etc/netstart vio0\nchecks:\nsh /etc/netstart -n vio0\n"
    "undo-steps:\nsh /etc/netstart vio0\n- route -qn delete default\n"
    "undo-checks:\nsh /etc/netstart -n vio0\n"
)
NOW = (
    "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
    "file 18 -rw-r--r-- root wheel /etc/hostname.vio0\ninet 203.0.113.12\n\n"
    "file 13 -rw-r--r-- root wheel /etc/mygate\n198.51.100.1\n\nBSDPROV-PROBE-END\n"
)


def test_a_rollback_plan_puts_the_backup_back_with_the_steps_planned_for_it() -> None:
    fake = FakeTransport([ok(BACKUP), ok(NOW)])
    plan = rollback_plan(fake, OBSD1, RUN)
    assert [(c.path, c.before.content, c.after) for c in plan.changes] == [
        ("/etc/hostname.vio0", "inet 203.0.113.12\n", "inet 192.0.2.1\n"),
        ("/etc/mygate", "198.51.100.1\n", None),
    ]
    assert [(s.argv, s.may_fail) for s in plan.steps] == [
        (("sh", "/etc/netstart", "vio0"), False),
        (("route", "-qn", "delete", "default"), True),
    ]
    assert [s.argv for s in plan.checks] == [("sh", "/etc/netstart", "-n", "vio0")]
    # Rolling the rollback back runs the original run's own steps again.
    assert [s.argv for s in plan.undo_steps] == [("sh", "/etc/netstart", "vio0")]
    assert "/etc/hostname.vio0" in fake.scripts[1] and "/etc/mygate" in fake.scripts[1]


def test_a_rollback_of_files_already_as_they_were_changes_nothing() -> None:
    same = BACKUP.split("steps:\n")[0]
    outcome = rollback_outcome(
        FakeTransport([ok(f"{RUN}\tapplied\t-\top\tdeploy\t-\t\n"), ok(BACKUP), ok(same)]),
        OBSD1,
        None,
    )
    assert (outcome.status, outcome.reason) == ("unchanged", f"rollback of {RUN}")


def test_a_rollback_dry_run_picks_the_last_applied_run() -> None:
    history = (
        f"{RUN}\tapplied\t-\top\tdeploy\t-\t\n"
        "20261124T000000Z-000001\tapplied\t-\top\tdeploy\t-\t\n"
        "20261125T000000Z-000002\trolled-back\t-\top\tdeploy\t-\t\n"
    )
    fake = FakeTransport([ok(history), ok(BACKUP), ok(NOW)])
    outcome = rollback_outcome(fake, OBSD1, None)
    assert outcome.reason == "rollback of 20261124T000000Z-000001"
    assert outcome.status == "changes"
    assert "runs/20261124T000000Z-000001/backup/index" in fake.scripts[1]
    assert fake.uploads == [], "a dry run uploads nothing"


def test_rollback_names_a_missing_run_and_refuses_a_host_with_none_applied() -> None:
    with pytest.raises(ApplyError, match=f"no run '{RUN}' with a backup; 'bsdprov history'"):
        rollback_plan(FakeTransport([ok("BSDPROV-NO-RUN\n")]), OBSD1, RUN)
    with pytest.raises(ApplyError, match="no applied run to roll back"):
        rollback_outcome(FakeTransport([ok("")]), OBSD1, None)
    with pytest.raises(UsageError, match="is not a run id"):
        rollback_plan(FakeTransport([]), OBSD1, "../../etc")
