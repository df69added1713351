"""Deploy's command sequence per host, with a fake transport: what is sent, in which order,
over which connection."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.apply import DeployOptions, deploy_one, plan_outcome
from bsdprov.errors import ApplyError, ProbeError, UsageError
from bsdprov.inventory import load_inventory
from bsdprov.model import Host
from bsdprov.session import CommandResult
from bsdprov.testing import FakeTransport, answer

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")
OBSD1 = EXAMPLE.hosts["obsd1"]
FRESH_OPENBSD = (
    "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nabsent /etc/hostname.vio0\n"
    "absent /etc/mygate\nBSDPROV-PROBE-END\n"
)


def ok(stdout: str) -> CommandResult:
    return answer(stdout)


class Connections:
    """Hands out prepared fake connections in order, as ``connect`` would open new ones."""

    def __init__(self, *fakes: FakeTransport) -> None:
        self.fakes = list(fakes)
        self.opened: list[FakeTransport] = []

    def __call__(self, host: Host) -> FakeTransport:
        fake = self.fakes.pop(0)
        self.opened.append(fake)
        return fake


def test_deploy_probes_uploads_starts_then_confirms_over_a_new_connection() -> None:
    first = FakeTransport([ok(FRESH_OPENBSD), ok("state=awaiting-confirm\nreason=\njournal:\n")])
    second = FakeTransport([ok("state=applied\nreason=confirmed over a new SSH connection\n")])
    connections = Connections(first, second)
    outcome = deploy_one(connections, OBSD1, "R1", DeployOptions(user="op"))

    assert (outcome.status, outcome.reason) == ("changed", "confirmed over a new SSH connection")
    probe, start = first.scripts
    assert "BSDPROV-PROBE" in probe and "/etc/hostname.vio0" in probe
    (upload,) = first.uploads
    assert upload.directory == "/home/bsdprov/.bsdprov/upload/R1"
    assert {"manifest", "txn.sh", "steps", "settings", "files/1", "files/2"} <= set(upload.files)
    assert b"confirm_timeout=120\n" in upload.files["settings"]
    assert "nohup sh /var/db/bsdprov/runs/R1/txn.sh start R1" in start
    assert "\nsh /var/db/bsdprov/runs/R1/txn.sh wait R1 240\n" in start
    assert first.closed, "the first connection is closed before confirming"
    assert second.scripts == ["sh /var/db/bsdprov/txn.sh confirm R1\n"]


def test_dry_run_only_reads() -> None:
    first = FakeTransport([ok(FRESH_OPENBSD)])
    outcome = plan_outcome(first, OBSD1)
    assert outcome.status == "changes" and outcome.plan is not None
    assert len(first.scripts) == 1 and first.uploads == []


def test_a_run_the_host_rolled_back_is_reported_as_such() -> None:
    first = FakeTransport(
        [
            ok(FRESH_OPENBSD),
            ok(
                "state=rolled-back\nreason=step failed (exit 1): sh /etc/netstart vio0\n"
                "journal:\nx\n"
            ),
        ]
    )
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert outcome.status == "rolled-back"
    assert outcome.reason == "step failed (exit 1): sh /etc/netstart vio0"


def test_an_unfinished_run_blocks_a_new_deploy() -> None:
    probe = FRESH_OPENBSD.replace("BSDPROV-PROBE-END", "run R0 activating alive\nBSDPROV-PROBE-END")
    first = FakeTransport([ok(probe)])
    with pytest.raises(
        ApplyError, match="run R0 did not finish \\(state activating\\): it is still in progress"
    ):
        deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert first.uploads == []


def test_the_declared_os_must_match_the_host() -> None:
    probe = FRESH_OPENBSD.replace("OpenBSD 7.6", "FreeBSD 14.1-RELEASE")
    with pytest.raises(
        ProbeError, match="the inventory says os 'openbsd' but the host runs freebsd 14.1-RELEASE"
    ):
        deploy_one(Connections(FakeTransport([ok(probe)])), OBSD1, "R1", DeployOptions())


def test_no_confirm_sends_a_zero_timeout_and_needs_no_second_connection() -> None:
    first = FakeTransport(
        [ok(FRESH_OPENBSD), ok("state=applied\nreason=applied without a confirm timer\njournal:\n")]
    )
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions(confirm=False))
    assert outcome.status == "changed"
    assert b"confirm_timeout=0\n" in first.uploads[0].files["settings"]


def test_an_interrupted_run_is_rolled_back_before_planning_again() -> None:
    dead = FRESH_OPENBSD.replace("BSDPROV-PROBE-END", "run R0 activating dead\nBSDPROV-PROBE-END")
    rolled = FRESH_OPENBSD.replace(
        "BSDPROV-PROBE-END", "run R0 rolled-back dead\nBSDPROV-PROBE-END"
    )
    first = FakeTransport(
        [
            ok(dead),
            ok("state=rolled-back\n"),
            ok(rolled),
            ok("state=applied\nreason=applied without a confirm timer\n"),
        ]
    )
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions(confirm=False))
    assert outcome.status == "changed"
    assert first.scripts[1] == (
        "sh /var/db/bsdprov/runs/R0/txn.sh rollback R0 'interrupted: no bsdprov process was left'\n"
    )
    assert "BSDPROV-PROBE" in first.scripts[2], "planned again after the rollback"


@pytest.mark.parametrize("run_id", ["", ".", "..", "../../..", "a/b"])
def test_deploy_one_refuses_a_run_id_that_is_not_one_path_component(run_id: str) -> None:
    """Below the api's check: the start script runs 'rm -rf /var/db/bsdprov/runs/<id>', so an
    id such as '' or '..' must never reach a script or an upload, whoever calls deploy_one."""
    first = FakeTransport([ok(FRESH_OPENBSD)])
    with pytest.raises(UsageError, match="is not a run id"):
        deploy_one(Connections(first), OBSD1, run_id, DeployOptions(user="op"))
    assert first.uploads == []
    assert not any("rm -rf" in script for script in first.scripts)
