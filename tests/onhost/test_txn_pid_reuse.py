"""A run's pid file outlives its process, and its number is reused (issue 11 review): after a
reboot every pid starts again from the bottom (OpenBSD draws them at random), so a daemon can
hold the number a dead run recorded. kill -0 alone then keeps a dead run alive for good: every
later deploy is refused ("another run holds the lock") and a dead decider is never replaced.
txn.sh asks ps -p PID -o args= (every BSD's ps takes it) whether the process runs txn.sh."""

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

from bsdprov.facts import parse_facts, probe_script
from tests.onhost.harness import SHELLS, Host
from tests.onhost.test_txn_faults import NEW, OLD, TARGET, host

__all__ = ["host"]

pytestmark = pytest.mark.onhost


@pytest.fixture
def stranger() -> Iterator[int]:
    """A live process that is not txn.sh: the daemon that got a dead run's pid number."""
    process = subprocess.Popen(["sleep", "300"])
    yield process.pid
    process.kill()
    process.wait()


def killed_during_checks(host: Host, run_id: str) -> Path:
    """Start ``run_id`` (its check hangs), then kill it and its check: a run left half-way."""
    env = {**os.environ, "BSDPROV_ROOT": str(host.root)}
    run = host.root / "var/db/bsdprov/runs" / run_id
    start = subprocess.Popen(
        [*host.shell, str(run / "txn.sh"), "start", run_id], env=env, start_new_session=True
    )
    deadline = time.monotonic() + 10
    while not (run / "step.pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(start.pid, signal.SIGKILL)
    start.wait()
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int((run / "step.pid").read_text()), signal.SIGKILL)
    return run


def test_a_dead_run_whose_pid_was_reused_does_not_hold_the_lock(host: Host, stranger: int) -> None:
    old = host.fingerprint(TARGET)
    host.prepare("r1", {TARGET: NEW}, checks=[shlex.join(["sleep", "30"])], timeout=60)
    run = killed_during_checks(host, "r1")
    assert host.path(TARGET).read_text() == NEW
    (run / "pid").write_text(f"{stranger}\n")  # the number now belongs to another process
    host.prepare("r2", {TARGET: NEW}, timeout=60, before={TARGET: old})
    result = host.txn("start", "r2")
    assert "another run holds the lock" not in host.reason("r2"), host.reason("r2")
    assert host.state("r1") == "rolled-back", host.journal("r1")
    assert result.returncode == 0, host.journal("r2")
    assert host.state("r2") == "awaiting-confirm"


def test_a_dead_decider_whose_pid_was_reused_is_taken_over(host: Host, stranger: int) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    run = host.root / "var/db/bsdprov/runs/r1"
    timer = int((run / "timer.pid").read_text())
    os.kill(timer, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{timer}").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (run / "decided").mkdir()  # the timer decided, then the host restarted mid-rollback
    (run / "decided/pid").write_text(f"{stranger}\n")
    (run / "state").write_text("rolling-back\n")
    assert host.txn("boot").returncode == 0
    assert host.state("r1") == "rolled-back", host.journal("r1")
    assert host.path(TARGET).read_text() == OLD


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_the_probe_reports_a_run_whose_pid_was_reused_as_dead(
    shell: list[str], tmp_path: Path, stranger: int
) -> None:
    """Else plan warns "still in progress" for good and deploy never rolls the run back."""
    runs = tmp_path / "state/runs"
    txn = subprocess.Popen(["sh", "-c", "sleep 300; :", "/var/db/bsdprov/txn.sh"])
    for run_id, pid in (("r1", stranger), ("r2", os.getpid()), ("r3", txn.pid)):
        (runs / run_id).mkdir(parents=True)
        (runs / run_id / "state").write_text("installed\n")
        (runs / run_id / "pid").write_text(f"{pid}\n")
    script = probe_script([]).replace("/var/db/bsdprov", str(tmp_path / "state"))
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    out = out.replace(out.split(b"\n")[1], b"uname OpenBSD 7.6 amd64", 1)
    txn.kill()
    txn.wait()
    runs_seen = {run.run_id: run.alive for run in parse_facts(out, "h").runs}
    assert runs_seen == {"r1": False, "r2": False, "r3": True}


def test_confirm_never_signals_a_process_that_got_a_dead_timers_pid(
    host: Host, stranger: int
) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    run = host.root / "var/db/bsdprov/runs/r1"
    timer = int((run / "timer.pid").read_text())
    os.kill(timer, signal.SIGKILL)  # the timer died (an admin, the OOM killer)...
    (run / "timer.pid").write_text(f"{stranger}\n")  # ...and its number went to a daemon
    assert host.txn("confirm", "r1").returncode == 0
    assert host.state("r1") == "applied"
    os.kill(stranger, 0)  # still alive
    assert (
        subprocess.run(
            ["ps", "-p", str(stranger), "-o", "stat="], capture_output=True, text=True
        ).stdout.strip()[:1]
        != "Z"
    )
