"""txn.sh's make phase (issue 14, ZFS datastores): what a run makes before installing its files
(a guest's ZFS dataset) is recorded as made, and only that is undone, last first, by the run's
own rollback or failure; what was already there (exit 3) is never undone. Under every test
shell."""

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


def maker(log: Path, name: str, code: int = 0) -> str:
    """A make command that logs ``make NAME`` and exits ``code`` (0 made, 3 there already)."""
    script = f'echo "make-$0" >> {shlex.quote(str(log))}; exit {code}'
    return shlex.join(["sh", "-c", script, name])


def with_make(run: Path, pairs: list[tuple[str, str]]) -> None:
    (run / "make").write_text("".join(f"{make}\n{undo}\n" for make, undo in pairs))
    (run / "undo-steps").write_text("")  # the rollback's own steps: none here


def test_only_what_the_run_made_is_undone_last_first(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, steps=[record(log, "step"), "false"])
    with_make(
        run,
        [
            (maker(log, "dataset"), record(log, "destroy-dataset")),
            (maker(log, "kept", 3), record(log, "destroy-kept")),
            (maker(log, "volume"), record(log, "destroy-volume")),
        ],
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rolled-back", host.reason("r1")
    assert ran(log) == [
        "make-dataset",
        "make-kept",
        "make-volume",
        "step",
        "destroy-volume",
        "destroy-dataset",
    ], "made before the files, undone after the steps, and never what was there"
    assert host.path(TARGET).read_text() == OLD
    assert not (run / "made").exists() and (run / "made.undone").exists()


def test_what_a_confirmed_run_made_stays(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, steps=[record(log, "step")])
    with_make(run, [(maker(log, "dataset"), record(log, "destroy"))])
    assert host.txn("start", "r1").returncode == 0
    assert host.state("r1") == "applied"
    assert ran(log) == ["make-dataset", "step"]
    assert (run / "made").read_text() == record(log, "destroy") + "\n"


def test_a_make_that_fails_undoes_the_earlier_ones_before_any_file(
    host: Host, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, steps=[record(log, "step")])
    with_make(
        run,
        [
            (maker(log, "dataset"), record(log, "destroy-dataset")),
            (maker(log, "volume", 1), record(log, "destroy-volume")),
        ],
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert host.reason("r1").startswith("make failed: ")
    assert ran(log) == ["make-dataset", "make-volume", "destroy-dataset"]
    assert host.path(TARGET).read_text() == OLD, "no file was installed"


def test_a_failed_check_restores_the_files_then_undoes_the_makes(
    host: Host, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    run = host.prepare("r1", {TARGET: NEW}, checks=["false"], steps=[record(log, "step")])
    with_make(run, [(maker(log, "dataset"), record(log, "destroy"))])
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert ran(log) == ["make-dataset", "destroy"]
    assert host.path(TARGET).read_text() == OLD


def test_an_undo_that_fails_is_left_to_resume(host: Host, tmp_path: Path) -> None:
    log, flag = tmp_path / "log", tmp_path / "busy"
    flag.touch()
    busy = shlex.join(
        ["sh", "-c", f"echo destroy >> {shlex.quote(str(log))}; [ ! -e {shlex.quote(str(flag))} ]"]
    )
    run = host.prepare("r1", {TARGET: NEW}, steps=["false"])
    with_make(run, [(maker(log, "dataset"), busy)])
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rollback-failed"
    assert (run / "remaining").read_text() == f"{busy}\n"
    assert host.path(TARGET).read_text() == OLD, "the files are back all the same"
    flag.unlink()
    done = host.txn("resume", "r1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert host.state("r1") == "rolled-back"
    assert ran(log) == ["make-dataset", "destroy", "destroy"]


def test_a_run_without_a_make_file_is_as_before(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "log"
    host.prepare("r1", {TARGET: NEW}, steps=[record(log, "step")])
    assert host.txn("start", "r1").returncode == 0
    assert host.state("r1") == "applied" and ran(log) == ["step"]
