"""txn.sh's rollback runs the rollback's own checks and steps (undo-checks, undo-steps), keeps
the steps that failed, and ``txn.sh resume`` finishes them later; under every test shell."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.onhost.harness import SHELLS, Host, record
from tests.onhost.test_txn import NEW, OLD, TARGET, ran

pytestmark = pytest.mark.onhost


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Host]:
    host = Host(tmp_path / "root", request.param)
    host.write(TARGET, OLD, 0o600)
    yield host


def with_undo(run: Path, checks: list[str], steps: list[str]) -> None:
    (run / "undo-checks").write_text("".join(f"{line}\n" for line in checks))
    (run / "undo-steps").write_text("".join(f"{line}\n" for line in steps))


def fails_while(flag: Path, log: Path, name: str) -> str:
    """A step that logs ``name`` and fails while ``flag`` exists."""
    script = f'echo "$0" >> {shlex.quote(str(log))}; [ ! -e {shlex.quote(str(flag))} ]'
    return shlex.join(["sh", "-c", script, name])


def test_a_rollback_runs_its_own_steps_not_the_runs(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, steps=[record(log, "forward"), "false"])
    # A failing check of a restored file is written down; the steps still run.
    with_undo(run, ["false"], [record(log, "undo")])
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rolled-back"
    assert ran(log) == ["forward", "undo"]
    assert host.path(TARGET).read_text() == OLD
    assert "rollback check failed: false" in host.journal("r1")


def test_a_half_failed_rollback_keeps_what_is_left_and_resume_finishes_it(
    host: Host, tmp_path: Path
) -> None:
    log, flag = tmp_path / "log", tmp_path / "broken"
    flag.touch()
    run = host.prepare("r1", {TARGET: NEW}, steps=["false"])
    with_undo(
        run,
        [],
        [record(log, "one"), fails_while(flag, log, "two"), "- false", record(log, "three")],
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rollback-failed"
    two = fails_while(flag, log, "two")
    assert (run / "remaining").read_text() == f"{two}\n", "only the failed step, not may-fail"
    assert f"the rollback itself failed at {two} (exit 1)" in host.reason("r1")
    assert f"left to redo: {two} (the next deploy or rollback" in host.reason("r1")
    assert ran(log) == ["one", "two", "three"], "every step ran"

    still = host.txn("resume", "r1")
    assert still.returncode == 1
    assert "state=rollback-failed" in still.stdout and f"remaining:\n{two}\n" in still.stdout
    assert "failed again at" in host.reason("r1")

    flag.unlink()
    done = host.txn("resume", "r1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert host.state("r1") == "rolled-back"
    assert host.reason("r1") == (
        "step failed (exit 1): false (the rollback was resumed and completed)"
    )
    assert ran(log) == ["one", "two", "three", "two", "two"], "only what was left re-ran"
    assert not (host.root / "var/db/bsdprov/lock").exists()
    again = host.txn("resume", "r1")
    assert again.returncode == 0 and "state=rolled-back" in again.stdout


def test_a_failed_restore_is_redone_by_resume(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, steps=["false"])
    with_undo(run, [], [record(log, "undo")])
    # The backup is unreadable when the rollback needs it: putting the file back fails.
    (run / "steps").write_text(
        shlex.join(["sh", "-c", f"mv {run}/backup/1 {run}/backup/1.away; false"]) + "\n"
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rollback-failed"
    assert (run / "remaining").read_text().splitlines()[0] == "restore"
    assert "restoring the files" in host.reason("r1")
    (run / "backup/1.away").rename(run / "backup/1")
    assert host.txn("resume", "r1").returncode == 0
    assert host.path(TARGET).read_text() == OLD
    assert ran(log) == ["undo"]
