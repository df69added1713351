"""The dead-man timer against wall-clock steps (ntpd, an admin's date): its deadline counts
sleeps, so a jump of the clock neither fires it early nor puts it off. libfaketime moves the
clock of txn.sh and of everything it starts; skipped where it is not installed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.onhost.harness import SHELLS, Host

TARGET = "/etc/hostname.vio0"
OLD = "inet 192.0.2.10 255.255.255.0\n"
NEW = "inet 203.0.113.12 255.255.255.255\n"
FAKETIME = next(
    (
        p
        for p in (
            Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1"),
            Path("/usr/lib/faketime/libfaketime.so.1"),
        )
        if p.exists()
    ),
    None,
)
pytestmark = [
    pytest.mark.onhost,
    pytest.mark.skipif(FAKETIME is None, reason="libfaketime is not installed"),
]


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Host]:
    host = Host(tmp_path / "root", request.param)
    host.write(TARGET, OLD, 0o600)
    yield host
    for pid_file in (host.root / "var/db/bsdprov/runs").glob("*/timer.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


SHM = Path("/dev/shm")


def shared_files(pid: int) -> tuple[Path, Path]:
    return SHM / f"sem.faketime_sem_{pid}", SHM / f"faketime_shm_{pid}"


def remove_stale_shared_files() -> None:
    """libfaketime names its semaphore and memory after the creating process and leaves them
    behind when that process is killed; a new process given the same pid then fails to start
    ("shm_open failed: File exists"). Only the files of processes that are gone are removed."""
    for path in SHM.glob("*faketime_s[eh]m_*"):
        pid = int(path.name.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            pass


@pytest.fixture
def clock(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A clock file and the environment that puts txn.sh and all it starts on that clock.

    libfaketime 0.9.10 shares its state through a semaphore its first process creates and
    removes at exit. txn.sh start leaves the timer running after it exits, so the timer's own
    children would find the semaphore gone and die. A holder process that outlives the test
    owns it instead, and every process of the run joins it through FAKETIME_SHARED."""
    clock = tmp_path / "clock"
    clock.write_text("+0\n")
    env = {
        **os.environ,
        "LD_PRELOAD": str(FAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_NO_CACHE": "1",
    }
    env.pop("FAKETIME_SHARED", None)
    remove_stale_shared_files()
    holder = subprocess.Popen(["sleep", "600"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        files = shared_files(holder.pid)
        deadline = time.monotonic() + 10
        while not all(f.exists() for f in files):
            assert holder.poll() is None, (
                f"libfaketime did not start: {holder.stderr.read() if holder.stderr else ''}"
            )
            assert time.monotonic() < deadline, "libfaketime created no shared state"
            time.sleep(0.05)
        env["FAKETIME_SHARED"] = f"/faketime_sem_{holder.pid} /faketime_shm_{holder.pid}"
        yield clock, env
    finally:
        holder.kill()
        holder.wait()
        for f in shared_files(holder.pid):
            f.unlink(missing_ok=True)


def start_with_a_movable_clock(host: Host, env: dict[str, str]) -> None:
    env = {**env, "BSDPROV_ROOT": str(host.root)}
    script = str(host.root / "var/db/bsdprov/runs/r1/txn.sh")
    started = subprocess.run(
        [*host.shell, script, "start", "r1"], env=env, capture_output=True, text=True, timeout=30
    )
    assert started.returncode == 0, started.stderr + host.journal("r1")
    assert host.state("r1") == "awaiting-confirm"


def test_a_clock_stepped_forward_does_not_fire_the_timer(
    host: Host, clock: tuple[Path, dict[str, str]]
) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    clock_file, env = clock
    start_with_a_movable_clock(host, env)
    clock_file.write_text("+3h\n")  # ntpd steps the clock three hours ahead
    time.sleep(3)
    assert host.state("r1") == "awaiting-confirm", "60 s have not passed"
    assert host.path(TARGET).read_text() == NEW
    assert "state=applied" in host.txn("confirm", "r1").stdout


def test_a_clock_stepped_back_does_not_put_the_timer_off(
    host: Host, clock: tuple[Path, dict[str, str]]
) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=2)
    clock_file, env = clock
    start_with_a_movable_clock(host, env)
    clock_file.write_text("-3h\n")  # the clock goes three hours back: no lock-out for hours
    assert host.wait_for("r1", "rolled-back", seconds=10) == "rolled-back"
    assert host.path(TARGET).read_text() == OLD
