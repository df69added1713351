"""txn.sh, the on-host transaction, under several POSIX shells in a throwaway root.

Each behaviour a user relies on is checked by its effect on files and on what ran: nothing is
lost, a failure restores every byte and mode, an unconfirmed change rolls itself back.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.onhost.harness import SHELLS, Host, record

pytestmark = pytest.mark.onhost

TARGET = "/etc/hostname.vio0"
OLD = "inet 192.0.2.10 255.255.255.0\n"
NEW = "inet 203.0.113.12 255.255.255.255\n"


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Host]:
    host = Host(tmp_path / "root", request.param)
    host.write(TARGET, OLD, 0o600)
    yield host
    for pid_file in (host.root / "var/db/bsdprov/runs").glob("*/timer.pid"):
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def ran(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def test_apply_then_confirm_keeps_the_change(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    host.prepare(
        "r1",
        {TARGET: NEW},
        steps=[record(log, "netstart")],
        timeout=60,
        verify=[shlex.join(["inet 203", "cat", str(host.path(TARGET))])],
    )
    assert host.txn("start", "r1").returncode == 0
    assert host.state("r1") == "awaiting-confirm"
    assert host.path(TARGET).read_text() == NEW
    assert oct(host.path(TARGET).stat().st_mode & 0o777) == "0o640"
    assert ran(log) == ["netstart"]
    assert host.path("/var/db/bsdprov/pending").read_text().strip() == "r1"
    assert not host.path("/etc/rc.local").exists(), "the boot hook is planned, not added by txn.sh"

    confirmed = host.txn("confirm", "r1")
    assert confirmed.returncode == 0 and "state=applied" in confirmed.stdout
    assert not host.path("/var/db/bsdprov/lock").exists()
    assert not host.path("/var/db/bsdprov/pending").exists()
    backup = host.root / "var/db/bsdprov/runs/r1/backup"
    assert (backup / "index").read_text() == f"present 1 {TARGET}\n"
    assert (backup / "1").read_text() == OLD


def test_without_a_timer_the_run_is_applied_at_once(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW})
    assert host.txn("start", "r1").returncode == 0
    assert host.state("r1") == "applied"
    assert not host.path("/etc/rc.local").exists(), "no timer, no boot hook"


def test_a_file_changed_since_the_plan_stops_the_run(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, before={TARGET: "123:4"})
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert host.reason("r1").startswith(f"changed since plan: {TARGET} (planned 123:4, now ")
    assert host.path(TARGET).read_text() == OLD


def test_a_failed_check_restores_every_byte_and_mode(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    host.prepare(
        "r1",
        {TARGET: NEW, "/etc/mygate": "198.51.100.1\n"},
        checks=[shlex.join(["sh", "-c", "echo 'line 3: syntax error' >&2; exit 1"])],
        steps=[record(log, "netstart")],
        timeout=60,
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert "check failed" in host.reason("r1") and "line 3: syntax error" in host.reason("r1")
    assert host.path(TARGET).read_text() == OLD
    assert oct(host.path(TARGET).stat().st_mode & 0o777) == "0o600"
    assert not host.path("/etc/mygate").exists(), "a file that did not exist is removed again"
    assert ran(log) == [], "nothing was activated"


def test_what_checks_need_is_made_first_and_kept_by_a_rollback(host: Host, tmp_path: Path) -> None:
    disk = host.path("/var/vmm/web01.qcow2")
    make = shlex.join(["sh", "-c", f"mkdir -p {disk.parent} && echo image >{disk}"])
    host.prepare(
        "r1",
        {TARGET: NEW},
        prepare=[make],
        checks=[shlex.join(["test", "-f", str(disk)])],
        # Fails once (the deploy), then succeeds (the rollback's re-activation).
        steps=[
            shlex.join(
                ["sh", "-c", f"test -f {tmp_path}/once || {{ touch {tmp_path}/once; exit 1; }}"]
            )
        ],
        timeout=60,
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rolled-back", "the check saw the disk; the step failed later"
    assert host.path(TARGET).read_text() == OLD
    assert disk.read_text() == "image\n", "a rollback never deletes a disk it made"


def test_a_failed_preparation_activates_nothing(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    host.prepare(
        "r1",
        {TARGET: NEW},
        prepare=[shlex.join(["sh", "-c", "echo 'vmctl: No space left on device' >&2; exit 1"])],
        steps=[record(log, "netstart")],
        timeout=60,
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "failed"
    assert "prepare failed" in host.reason("r1") and "No space left" in host.reason("r1")
    assert host.path(TARGET).read_text() == OLD
    assert ran(log) == []


def test_a_failed_step_rolls_back_and_reactivates_the_old_files(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    host.prepare(
        "r1",
        {TARGET: NEW},
        timeout=60,
        steps=[
            "- " + shlex.join(["sh", "-c", "exit 3"]),
            record(log, "first"),
            shlex.join(["sh", "-c", f"grep -q 203 {host.path(TARGET)} && exit 7 || exit 0"]),
        ],
    )
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rolled-back"
    assert host.reason("r1").startswith("step failed (exit 7): sh -c")
    assert host.path(TARGET).read_text() == OLD
    assert ran(log) == ["first", "first"], "the steps ran again on the restored files"
    assert not host.path("/var/db/bsdprov/lock").exists()


def test_a_failed_verify_rolls_back(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, verify=[shlex.join(["inet 198[.]51", "echo", "nothing"])])
    assert host.txn("start", "r1").returncode == 1
    assert host.state("r1") == "rolled-back"
    assert host.reason("r1") == "verify failed: 'echo nothing' does not show /inet 198[.]51/"
    assert host.path(TARGET).read_text() == OLD


def test_an_unconfirmed_run_rolls_itself_back(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=1)
    assert host.txn("start", "r1").returncode == 0
    assert host.wait_for("r1", "rolled-back") == "rolled-back"
    assert host.reason("r1") == "not confirmed within 1s"
    assert host.path(TARGET).read_text() == OLD
    late = host.txn("confirm", "r1")
    assert late.returncode == 1 and "state=rolled-back" in late.stdout


def test_a_second_run_is_refused_while_the_first_holds_the_lock(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    host.prepare("r2", {TARGET: "inet 203.0.113.99 255.255.255.255\n"})
    assert host.txn("start", "r2").returncode == 1
    assert host.state("r2") == "failed"
    assert host.reason("r2") == ("another run holds the lock: r1 by tester, state awaiting-confirm")
    assert host.path(TARGET).read_text() == NEW
    host.txn("confirm", "r1")


def test_after_a_restart_the_boot_check_rolls_back(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, timeout=60)
    assert host.txn("start", "r1").returncode == 0
    timer = int((host.root / "var/db/bsdprov/runs/r1/timer.pid").read_text())
    os.kill(timer, signal.SIGKILL)  # the reboot
    assert host.txn("boot").returncode == 0
    assert host.state("r1") == "rolled-back"
    assert host.reason("r1") == "the host restarted before the run was confirmed"
    assert host.path(TARGET).read_text() == OLD


def test_a_hanging_step_is_killed_and_the_files_restored(host: Host) -> None:
    host.prepare("r1", {TARGET: NEW}, steps=[shlex.join(["sleep", "30"])], step_timeout=1)
    assert host.txn("start", "r1", timeout=20).returncode == 1
    # The same step hangs again when the rollback re-activates: said, not hidden.
    assert host.state("r1") == "rollback-failed"
    assert host.reason("r1").startswith("step failed (exit 143): sleep 30; the rollback itself")
    assert host.path(TARGET).read_text() == OLD


def test_history_lists_runs_and_only_twenty_are_kept(host: Host) -> None:
    for n in range(22):
        host.prepare(f"2026{n:02d}", {TARGET: f"inet 203.0.113.{n + 1} 255.255.255.255\n"})
        assert host.txn("start", f"2026{n:02d}").returncode == 0
    lines = host.txn("history").stdout.splitlines()
    assert len(lines) == 20
    assert lines[0].split("\t")[:2] == ["202602", "applied"]
    assert lines[-1].split("\t")[4:6] == ["deploy", TARGET]


def test_an_explicit_rollback_restores_the_files(host: Host, tmp_path: Path) -> None:
    log = tmp_path / "steps.log"
    host.prepare("r1", {TARGET: NEW}, steps=[record(log, "netstart")], timeout=60)
    host.txn("start", "r1")
    assert host.txn("rollback", "r1", "operator said so").returncode == 0
    assert host.state("r1") == "rolled-back" and host.reason("r1") == "operator said so"
    assert host.path(TARGET).read_text() == OLD and ran(log) == ["netstart", "netstart"]


def test_a_run_built_from_a_real_plan_applies(host: Host) -> None:
    """build_run's manifest, fingerprints and modes are what txn.sh expects."""
    from dataclasses import replace

    from bsdprov.facts import ObservedFile
    from bsdprov.inventory import parse_inventory
    from bsdprov.plan import plan_host
    from bsdprov.render import render_host
    from bsdprov.run import RunSettings, build_run

    admin = 'sshd_enable="YES"\ndefaultrouter="192.0.2.1"\n'
    host.write("/etc/rc.conf", admin, 0o644)
    inventory = parse_inventory(
        "hosts:\n  f:\n    os: freebsd\n    interfaces: {vtnet0: {addresses: [203.0.113.10/32]}}\n"
        "    routes: [{to: default, via: 198.51.100.1, onlink: true}]\n",
        "i.yaml",
    )
    observed = {"/etc/rc.conf": ObservedFile("/etc/rc.conf", admin, 0o644, "root", "wheel")}
    plan = plan_host(render_host(inventory.hosts["f"]), observed)
    # The lab has no "service" command here, and Debian has no wheel group: only the files.
    plan = replace(
        plan,
        steps=(),
        checks=(),
        verify=(),
        changes=tuple(replace(c, group="root") for c in plan.changes),
    )
    run = host.root / "var/db/bsdprov/runs/r1"
    for relative, data in build_run(plan, RunSettings("r1", "tester", confirm_timeout=0)).items():
        (run / relative).parent.mkdir(parents=True, exist_ok=True)
        (run / relative).write_bytes(data)
    host.runs.append("r1")
    assert host.txn("start", "r1").returncode == 0, host.journal("r1")
    assert host.state("r1") == "applied"
    text = host.path("/etc/rc.conf").read_text()
    assert text.startswith('sshd_enable="YES"\ndefaultrouter="198.51.100.1"\n')
    assert 'route_bsdprov_gw_vtnet0="-host 198.51.100.1 -interface vtnet0"\n' in text
    assert host.path("/var/db/bsdprov/lib/netbsd-ifup").exists()


def test_a_step_whose_child_hangs_is_still_cut_at_its_time_limit(host: Host) -> None:
    import time

    host.prepare(
        "r1", {TARGET: NEW}, steps=[shlex.join(["sh", "-c", "sleep 30 & sleep 30"])], step_timeout=1
    )
    started = time.monotonic()
    assert host.txn("start", "r1", timeout=25).returncode == 1
    assert time.monotonic() - started < 12, "a grandchild holding the output must not block"
    assert host.path(TARGET).read_text() == OLD


def test_a_run_whose_process_died_is_rolled_back_by_the_next(host: Host, tmp_path: Path) -> None:
    import subprocess
    import time

    log = tmp_path / "steps.log"
    hang = shlex.join(["sh", "-c", f"grep -q 203 {host.path(TARGET)} && sleep 30 || true"])
    host.prepare("r1", {TARGET: NEW}, steps=[record(log, "netstart"), hang], step_timeout=2)
    env = {**os.environ, "BSDPROV_ROOT": str(host.root)}
    script = str(host.root / "var/db/bsdprov/runs/r1/txn.sh")
    first = subprocess.Popen([*host.shell, script, "start", "r1"], env=env, start_new_session=True)
    deadline = time.monotonic() + 10
    while (
        "activating" not in host.path("/var/db/bsdprov/runs/r1/state").read_text()
        if host.path("/var/db/bsdprov/runs/r1/state").exists()
        else True
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(first.pid, signal.SIGKILL)  # --no-confirm run killed mid-activation
    first.wait()
    # r2 was planned against r1's half-applied file: r2 first undoes r1, then sees the file
    # is no longer what it planned against and stops; the next plan and run go through.
    newer = "inet 203.0.113.50 255.255.255.255\n"
    host.prepare("r2", {TARGET: newer})
    assert host.txn("start", "r2").returncode == 1
    assert host.state("r1") == "rolled-back"
    assert host.reason("r1") == "interrupted; rolled back before run r2"
    assert host.reason("r2").startswith(f"changed since plan: {TARGET}")
    assert host.path(TARGET).read_text() == OLD
    host.prepare("r3", {TARGET: newer})
    assert host.txn("start", "r3").returncode == 0
    assert host.path(TARGET).read_text() == newer
