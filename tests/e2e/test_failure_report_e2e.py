"""Issue 17 on the lab: a deploy whose activation fails prints the failing command, its exit
status, its output and the cause, not the journal; ``bsdprov log`` then prints the run's whole
journal, read from the host."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov
from tests.e2e.test_deploy import add_alias, background, edited, fresh, run_id_of, run_state

pytestmark = pytest.mark.e2e
__all__ = ["fresh"]  # the fixture


def test_a_failed_deploy_names_the_failing_step_and_its_error(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[1]  # freebsd: activation is "service netif restart vtnet0"
    faults = fresh.host_root(name) / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "service").write_text("service: simulated failure\n")
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.33/32"))
    result = bsdprov("deploy", "--host", name, "-i", inventory)
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    run_id = run_id_of(result.stdout)
    pad = " " * (len(name) + 2)
    block = (
        f"{pad}failed activation command: service netif restart vtnet0\n"
        f"{pad}exit status 1\n"
        f"{pad}its output (stdout and stderr):\n"
        f"{pad}  | service: simulated failure\n"
        f"{pad}cause: an activation command failed, so the host put the old files back and "
        "re-ran their commands (rolled back)\n"
        f"{pad}the whole journal: bsdprov log --host {name} --run {run_id}\n"
    )
    assert block in result.stdout, result.stdout
    assert "journal, last lines" not in result.stdout

    logged = bsdprov("log", "--host", name, "-i", inventory)
    assert logged.returncode == 0, logged.stderr
    assert logged.stdout.startswith(f"== {name} run {run_id}\n")
    assert " step (exit 1): service netif restart vtnet0\n" in logged.stdout
    assert "    | service: simulated failure\n" in logged.stdout
    assert logged.stdout.rstrip().endswith("rolled-back"), logged.stdout[-300:]


def test_ctrl_c_mid_deploy_says_at_once_what_the_host_will_do_and_exits_130(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[0]
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.66/32"))
    controller = background(
        "deploy", "--host", name, "-i", inventory, "--confirm-timeout", "10", "--yes"
    )
    runs = fresh.host_root(name) / "var/db/bsdprov/runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [p.read_text().strip() for p in runs.glob("*/state")] if runs.exists() else []
        if "awaiting-confirm" in states or "activating" in states:
            break
        time.sleep(0.05)
    pressed = time.monotonic()
    controller.send_signal(signal.SIGINT)
    out, err = controller.communicate(timeout=30)
    took = time.monotonic() - pressed
    assert controller.returncode == 130, out + err
    assert took < 3, f"Ctrl-C took {took:.1f} s to answer"
    (run,) = runs.iterdir()
    line = next(x for x in err.splitlines() if x.startswith(f"  {name}: "))
    assert run.name in line, err
    assert "the host's timer rolls it back at" in line or "already finished" in line, line
    if "timer rolls it back" in line:
        deadline = time.monotonic() + 40
        while run_state(fresh, name, run.name) not in ("rolled-back", "applied"):
            assert time.monotonic() < deadline, "the host never decided the run"
            time.sleep(0.2)
