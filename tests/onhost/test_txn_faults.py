"""txn.sh against a hostile host (issue 11): races with its own timer, full file systems, a
reboot during the checks, symbolic links, a start that never began.

Disk-full cases mount a small tmpfs over the state directory or /etc of the throwaway root,
which needs root (the lab's tests do too); they are skipped without it.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsdprov.run import posix_cksum
from tests.onhost.harness import SHELLS, Host

pytestmark = pytest.mark.onhost

TARGET = "/etc/hostname.vio0"
OLD = "inet 192.0.2.10 255.255.255.0\n"
NEW = "inet 203.0.113.12 255.255.255.255\n"
STATE_DIR = "/var/db/bsdprov"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Host]:
    host = Host(tmp_path / "root", request.param)
    host.write(TARGET, OLD, 0o600)
    mounts: list[Path] = []
    request.node.mounts = mounts
    yield host
    for pid_file in (host.root / "var/db/bsdprov/runs").glob("*/timer.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    for mount in reversed(mounts):
        subprocess.run(["umount", "-l", str(mount)], check=False)


def small_fs(request: pytest.FixtureRequest, host: Host, where: str, kb: int) -> Path:
    """Mount a ``kb`` KB tmpfs over ``where`` in the host root, keeping what was there."""
    path = host.path(where)
    path.mkdir(parents=True, exist_ok=True)
    kept = {p.name: (p.read_bytes(), p.stat().st_mode) for p in path.iterdir() if p.is_file()}
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kb}k", "tmpfs", str(path)], check=True)
    request.node.mounts.append(path)
    for name, (data, mode) in kept.items():
        (path / name).write_bytes(data)
        (path / name).chmod(mode)
    return path


def fill(path: Path, leave_pages: int = 0) -> None:
    """Fill the file system of ``path`` with 4 KB files, then free ``leave_pages`` of them."""
    fillers = path / ".filler"
    fillers.mkdir(exist_ok=True)
    n = 0
    while True:
        try:
            (fillers / str(n)).write_bytes(b"x" * 4096)
        except OSError:
            (fillers / str(n)).unlink(missing_ok=True)
            break
        n += 1
    for k in range(leave_pages):
        (fillers / str(n - 1 - k)).unlink()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".bsdprov."))


# --- item 1: one process owns the run's state ------------------------------------------------


def test_the_timer_stops_the_activation_before_restoring(host: Host, tmp_path: Path) -> None:
    """A step still running when the deadline comes is ended before any file is restored, and
    start writes nothing after: the rollback's state is the last word."""
    log = tmp_path / "steps.log"
    slow = shlex.join(
        [
            "sh",
            "-c",
            f"grep -q 203 {host.path(TARGET)} || exit 0; sleep 4; echo finished >>{log}",
        ]
    )
    host.prepare("r1", {TARGET: NEW}, steps=[slow], timeout=1, step_timeout=30)
    started = time.monotonic()
    result = host.txn("start", "r1", timeout=30)
    assert result.returncode != 0, "start did not see its run through"
    assert time.monotonic() - started < 3.5, "the step was stopped, not waited out"
    assert host.wait_for("r1", "rolled-back") == "rolled-back"
    time.sleep(4)  # past the end of the step, had it not been stopped
    assert host.state("r1") == "rolled-back", "nothing wrote over the rollback's state"
    assert host.path(TARGET).read_text() == OLD
    assert not log.exists(), "the activation's step did not go on after the rollback"
    journal = host.journal("r1")
    assert "state awaiting-confirm" not in journal
    assert journal.index("the activation has stopped") < journal.index(f"restored {TARGET}")


def test_a_process_that_lost_the_run_writes_no_state(host: Host, tmp_path: Path) -> None:
    """start's verify passes after the timer has decided: it must not write awaiting-confirm."""
    verify = shlex.join([".", "sh", "-c", f"sleep 2; cat {host.path(TARGET)}"])
    host.prepare("r1", {TARGET: NEW}, verify=[verify], timeout=1, step_timeout=30)
    host.txn("start", "r1", timeout=30)
    assert host.wait_for("r1", "rolled-back") == "rolled-back"
    time.sleep(2.5)
    assert host.state("r1") == "rolled-back"
    assert "state awaiting-confirm" not in host.journal("r1")


def test_wait_reports_at_once_when_no_process_works_on_the_run(host: Host) -> None:
    """A start that never began (a missing nohup) is seen in seconds, not after the wait."""
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    started = time.monotonic()
    answer = host.txn("wait", "r1", "60", timeout=30)
    assert time.monotonic() - started < 5
    assert "state=none" in answer.stdout


# --- item 2: a write error before activation fails the run, old files in place ---------------


@needs_root
def test_a_full_state_directory_fails_the_run_and_says_so(
    request: pytest.FixtureRequest, host: Host
) -> None:
    state_dir = small_fs(request, host, STATE_DIR, 512)
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    fill(state_dir, leave_pages=1)  # room for the pid, none for a backup index
    result = host.txn("start", "r1")
    assert result.returncode != 0
    assert "no space left on /var/db/bsdprov" in result.stderr
    assert host.path(TARGET).read_text() == OLD
    assert leftovers(host.path("/etc")) == []
    assert not (state_dir / "lock").exists(), "the next run is not locked out"


@needs_root
def test_a_nearly_full_state_directory_records_why(
    request: pytest.FixtureRequest, host: Host
) -> None:
    state_dir = small_fs(request, host, STATE_DIR, 512)
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    fill(state_dir, leave_pages=14)  # the reserve, journal, lock and state fit; the backups not
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert host.reason("r1").startswith("no space left on /var/db/bsdprov: the run needs ")
    assert host.reason("r1").endswith("; nothing was changed")
    assert host.path(TARGET).read_text() == OLD
    assert not host.path("/var/db/bsdprov/pending").exists()


# --- item 7: /etc full -------------------------------------------------------------------------


@needs_root
def test_no_room_in_etc_is_found_before_anything_is_installed(
    request: pytest.FixtureRequest, host: Host
) -> None:
    etc = small_fs(request, host, "/etc", 64)
    fill(etc, leave_pages=1)
    host.prepare("r1", {TARGET: NEW * 400}, timeout=60)
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert host.reason("r1").startswith("no space left on /etc: the run needs ")
    assert host.path(TARGET).read_text() == OLD
    assert leftovers(etc) == []


@needs_root
def test_etc_filled_before_the_rollback_still_restores_and_says_why(
    request: pytest.FixtureRequest, host: Host
) -> None:
    etc = small_fs(request, host, "/etc", 128)
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    fill(etc)  # something else fills /etc while the run awaits its confirmation
    assert host.txn("rollback", "r1", "operator said so").returncode == 0
    assert host.state("r1") == "rolled-back"
    assert host.path(TARGET).read_text() == OLD
    assert oct(host.path(TARGET).stat().st_mode & 0o777) == "0o600"
    assert leftovers(etc) == []
    assert "no space left on /etc" in host.journal("r1")


# --- item 6: a reboot before the timer is armed --------------------------------------------------


def test_a_reboot_during_the_checks_is_rolled_back_at_boot(host: Host, tmp_path: Path) -> None:
    hang = shlex.join(["sleep", "30"])
    host.prepare("r1", {TARGET: NEW}, checks=[hang], timeout=60, step_timeout=60)
    env = {**os.environ, "BSDPROV_ROOT": str(host.root)}
    script = str(host.root / "var/db/bsdprov/runs/r1/txn.sh")
    start = subprocess.Popen([*host.shell, script, "start", "r1"], env=env, start_new_session=True)
    deadline = time.monotonic() + 10
    while not (host.root / "var/db/bsdprov/runs/r1/step.pid").exists():  # the check runs
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert host.path(TARGET).read_text() == NEW, "the new file is installed during the checks"
    os.killpg(start.pid, signal.SIGKILL)  # the reboot
    start.wait()
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int((host.root / "var/db/bsdprov/runs/r1/step.pid").read_text()), signal.SIGKILL)
    assert host.txn("boot").returncode == 0
    assert host.state("r1") == "rolled-back"
    assert host.reason("r1") == "the host restarted before the run was confirmed"
    assert host.path(TARGET).read_text() == OLD


# --- item 10: symbolic links -------------------------------------------------------------------


@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_a_symlinked_file_is_written_through_and_restored_through(
    host: Host, absolute: bool
) -> None:
    real = host.path("/etc/rc.conf.real")
    real.write_text('hostname="old"\n')
    real.chmod(0o644)
    link = host.path("/etc/rc.conf")
    link.symlink_to("/etc/rc.conf.real" if absolute else "rc.conf.real")
    # The harness's own fingerprint would not follow an absolute link inside the throwaway root.
    planned = {"/etc/rc.conf": posix_cksum(real.read_bytes())}
    host.prepare("r1", {"/etc/rc.conf": 'hostname="new"\n'}, timeout=60, mode="644", before=planned)
    assert host.txn("start", "r1").returncode == 0, host.journal("r1")
    assert link.is_symlink() and real.read_text() == 'hostname="new"\n'
    assert "through the link to /etc/rc.conf.real" in host.journal("r1")
    assert host.txn("rollback", "r1", "back").returncode == 0
    assert link.is_symlink() and real.read_text() == 'hostname="old"\n'
    assert leftovers(host.path("/etc")) == []


# --- a decider that died -------------------------------------------------------------------------


def test_a_rollback_whose_process_died_is_taken_over(host: Host, tmp_path: Path) -> None:
    """The timer killed mid-rollback (state rolling-back, decided, no process): the next
    rollback (or the boot check) takes the run over instead of 'already decided' for good."""
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    run = host.root / "var/db/bsdprov/runs/r1"
    timer = int((run / "timer.pid").read_text())
    os.kill(timer, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{timer}").exists():  # until reaped: kill -0 still finds a zombie
        assert time.monotonic() < deadline, "the killed timer was never reaped"
        time.sleep(0.05)
    (run / "decided").mkdir()
    (run / "state").write_text("rolling-back\n")
    result = host.txn("rollback", "r1", "interrupted: no bsdprov process was left")
    assert result.returncode == 0, result.stderr
    assert host.state("r1") == "rolled-back"
    assert host.path(TARGET).read_text() == OLD
    assert "the process that decided the run is gone" in host.journal("r1")


def test_a_live_decider_keeps_the_run(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    run = host.root / "var/db/bsdprov/runs/r1"
    (run / "decided").mkdir()  # the timer (alive) decided and is rolling back
    refused = host.txn("rollback", "r1")
    assert refused.returncode == 2 and "already decided" in refused.stderr
    assert host.path(TARGET).read_text() == NEW


def test_many_runs_whose_deadline_falls_in_their_activation_all_end_rolled_back(
    tmp_path: Path,
) -> None:
    """Issue 11's 20-host case in miniature: a 1 s timer against activations of 0.2 to 2.4 s,
    all at once. Each run ends rolled-back, its file back, no state written after the
    rollback's, and no process left."""
    hosts = []
    for n in range(12):
        host = Host(tmp_path / f"root{n}", ["dash"])
        host.write(TARGET, OLD, 0o600)
        seconds = 0.2 * (n + 1)
        step = shlex.join(["sh", "-c", f"grep -q 203 {host.path(TARGET)} && sleep {seconds}; :"])
        verify = shlex.join(["inet 203", "cat", str(host.path(TARGET))])
        host.prepare("r1", {TARGET: NEW}, steps=[step], verify=[verify], timeout=1)
        hosts.append(host)
    starts = [
        subprocess.Popen(
            ["dash", str(h.root / "var/db/bsdprov/runs/r1/txn.sh"), "start", "r1"],
            env={**os.environ, "BSDPROV_ROOT": str(h.root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for h in hosts
    ]
    for start in starts:
        start.wait(timeout=60)
    for host in hosts:
        assert host.wait_for("r1", "rolled-back", seconds=20) == "rolled-back", host.journal("r1")
    time.sleep(2.5)  # past every activation's end
    for host in hosts:
        journal = host.journal("r1")
        assert host.state("r1") == "rolled-back", journal
        assert host.path(TARGET).read_text() == OLD
        after_rollback = journal[journal.index("state rolling-back") :]
        assert "state awaiting-confirm" not in after_rollback, journal
        run = host.root / "var/db/bsdprov/runs/r1"
        for pid_file in ("pid", "timer.pid"):
            pid = int((run / pid_file).read_text())
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]
            ), f"{pid_file} still running"
