"""A command start was running outlives start (issue 11 review): start killed on its own (an
admin's kill, the OOM killer, take_over's SIGKILL) left its step running, reparented to init;
the rollback then restored the files while that step went on activating the new configuration,
the race of issue 11's item 1 by another door. A step must end with the start that ran it."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.onhost.harness import Host
from tests.onhost.test_txn_faults import NEW, OLD, TARGET, host

__all__ = ["host"]

pytestmark = pytest.mark.onhost


def test_a_step_never_outlives_the_start_that_ran_it(host: Host, tmp_path: Path) -> None:
    # The step acts, 4 s late, on the file it read: the activation's sees NEW; the rollback's own
    # run of the step (the same steps, on the old files) sees OLD.
    late = tmp_path / "acted-on"
    target = host.path(TARGET)
    step = shlex.join(["sh", "-c", f'read -r c < "{target}"; sleep 4; echo "$c" >> {late}'])
    host.prepare("r1", {TARGET: NEW}, steps=[step], timeout=60, step_timeout=60)
    run = host.root / "var/db/bsdprov/runs/r1"
    env = {**os.environ, "BSDPROV_ROOT": str(host.root)}
    start = subprocess.Popen([*host.shell, str(run / "txn.sh"), "start", "r1"], env=env)
    deadline = time.monotonic() + 10
    while not (run / "step.pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    start.send_signal(signal.SIGKILL)  # start alone: its step and the step's guard live on
    start.wait()
    result = host.txn("rollback", "r1", "start was killed")
    assert result.returncode == 0, result.stderr
    assert host.state("r1") == "rolled-back"
    assert host.path(TARGET).read_text() == OLD
    time.sleep(5)
    assert late.read_text() == OLD, "the killed start's step went on after the rollback"
