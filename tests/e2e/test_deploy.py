"""Deploy, plan, rollback and history on the lab's simulated hosts, as a user runs them.

Every test starts from freshly reset hosts and drives the real command (``python -m bsdprov``)
over real OpenSSH, then looks at the hosts from the outside (their root on this machine) and
through SSH. Each test that deploys ends with the reboot invariant: what the host runs is what
its files give at boot (the ``reboot_invariant`` fixture, lab.reboot).
"""

from __future__ import annotations

import functools
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RebootInvariant, RunningLab
from tests.command import bsdprov
from tests.confirmed import confirmed

pytestmark = pytest.mark.e2e

HOST_FILES = {
    "openbsd": ["/etc/hostname.vio0", "/etc/mygate"],
    "freebsd": ["/etc/rc.conf"],
    "netbsd": ["/etc/ifconfig.vioif0", "/etc/rc.conf"],
}
IFACE = {"openbsd": "vio0", "freebsd": "vtnet0", "netbsd": "vioif0"}


@pytest.fixture
def fresh(lab: RunningLab) -> RunningLab:
    lab.reset()
    return lab


def background(*args: str) -> subprocess.Popen[str]:
    """``bsdprov ARGS`` started and left running, as a controller a test may kill."""
    return subprocess.Popen(
        [sys.executable, "-m", "bsdprov", *confirmed(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def edited(lab: RunningLab, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> str:
    """A copy of the lab inventory with ``change`` applied to its data."""
    data = yaml.safe_load(lab.inventory.read_text())
    change(data)
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def add_alias(data: dict[str, Any], name: str, address: str) -> None:
    host = data["hosts"][name]
    (itf,) = host["interfaces"].values()
    itf["addresses"] = [*itf["addresses"], address]
    itf["description"] = "managed by bsdprov"


def snapshot(lab: RunningLab, name: str) -> dict[str, tuple[bytes, int]]:
    root = lab.host_root(name)
    found = {}
    for path in HOST_FILES[lab.os_of(name)]:
        file = root / path.lstrip("/")
        found[path] = (file.read_bytes(), file.stat().st_mode & 0o7777)
    return found


def run_state(lab: RunningLab, name: str, run_id: str) -> str:
    state = lab.host_root(name) / f"var/db/bsdprov/runs/{run_id}/state"
    return state.read_text().strip() if state.exists() else "none"


def run_id_of(output: str) -> str:
    return output.split("(run ")[1].split(")")[0]


def test_deploy_on_every_os_then_nothing_changes(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    def change(data: dict[str, Any]) -> None:
        for n, name in enumerate(fresh.names):
            add_alias(data, name, f"203.0.113.{n + 10}/32")

    inventory = edited(fresh, tmp_path, change)
    deployed = bsdprov("deploy", "--all", "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    for n, name in enumerate(fresh.names):
        assert f"{name}  changed (run " in deployed.stdout
        shown = fresh.ssh(name, f"ifconfig {IFACE[fresh.os_of(name)]}").stdout
        assert f"203.0.113.{n + 10}" in shown, shown
    assert (
        f"\ndeploy: {len(fresh.names)} hosts: {len(fresh.names)} changed\n\nDEPLOY RECAP\n"
        in deployed.stdout
    )

    again = bsdprov("plan", "--all", "-i", inventory, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.count(": no changes") == len(fresh.names)
    redeploy = bsdprov("deploy", "--all", "-i", inventory)
    assert redeploy.returncode == 0 and "unchanged" in redeploy.stdout

    history = bsdprov("history", "--host", fresh.names[0], "-i", inventory)
    assert "applied" in history.stdout and "deploy" in history.stdout
    reboot_invariant(fresh)


def test_plan_shows_diffs_and_commands_and_touches_nothing(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[0]
    before = snapshot(fresh, name)
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.10/32"))
    planned = bsdprov("plan", "--host", name, "-i", inventory, "--detailed-exitcode")
    assert planned.returncode == ExitCode.CHANGES_PENDING, planned.stdout + planned.stderr
    assert f"--- a/{name}:/etc/hostname.vio0\n+++ b/{name}:/etc/hostname.vio0\n" in planned.stdout
    assert "+inet alias 203.0.113.10 255.255.255.255\n" in planned.stdout
    assert "  sh /etc/netstart vio0\n" in planned.stdout
    assert snapshot(fresh, name) == before
    assert not (fresh.host_root(name) / "var/db/bsdprov/runs").exists()


def test_rollback_restores_every_byte_and_mode(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    for name in fresh.names:
        before = snapshot(fresh, name)
        alias = functools.partial(add_alias, name=name, address="203.0.113.77/32")
        inventory = edited(fresh, tmp_path, alias)
        assert bsdprov("deploy", "--host", name, "-i", inventory).returncode == 0
        assert snapshot(fresh, name) != before
        preview = bsdprov("rollback", "--host", name, "-i", inventory, "--dry-run")
        assert "-inet alias 203.0.113.77" in preview.stdout or "203.0.113.77" in preview.stdout
        undone = bsdprov("rollback", "--host", name, "-i", inventory)
        assert undone.returncode == 0, undone.stdout + undone.stderr
        assert snapshot(fresh, name) == before
        shown = fresh.ssh(name, f"ifconfig {IFACE[fresh.os_of(name)]}").stdout
        assert "203.0.113.77" not in shown
    reboot_invariant(fresh)


def test_a_config_that_locks_the_host_out_is_rolled_back_by_the_host(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = fresh.names[1]
    before = snapshot(fresh, name)

    def move(data: dict[str, Any]) -> None:
        host = data["hosts"][name]
        (itf,) = host["interfaces"].values()
        itf["addresses"] = ["198.18.9.9/24"]
        host["routes"] = [{"to": "default", "via": "198.18.9.254"}]

    inventory = edited(fresh, tmp_path, move)
    started = time.monotonic()
    result = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "10")
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "rolled-back" in result.stdout and "not confirmed within 10s" in result.stdout
    assert time.monotonic() - started >= 10
    assert snapshot(fresh, name) == before
    assert fresh.ssh(name, "true").returncode == 0
    reboot_invariant(fresh, name)


def test_a_killed_controller_leaves_the_host_to_roll_back(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = fresh.names[0]
    before = snapshot(fresh, name)
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.66/32"))
    controller = background("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "10")
    runs = fresh.host_root(name) / "var/db/bsdprov/runs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [p.read_text().strip() for p in runs.glob("*/state")] if runs.exists() else []
        if "awaiting-confirm" in states or "activating" in states:
            break
        time.sleep(0.05)
    controller.send_signal(signal.SIGKILL)
    controller.wait()
    (run,) = runs.iterdir()
    deadline = time.monotonic() + 30
    while (
        run_state(fresh, name, run.name) not in ("rolled-back", "applied")
        and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    # Killed before it could confirm: the host undoes the change by itself.
    assert run_state(fresh, name, run.name) == "rolled-back"
    assert snapshot(fresh, name) == before
    reboot_invariant(fresh, name)


def test_a_second_deploy_is_refused_while_a_run_is_unfinished(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[0]
    faults = fresh.host_root(name) / "var/lab/faults/hang"
    faults.mkdir(parents=True, exist_ok=True)
    # The first step (ifconfig vio0 -inet) hangs before it changes anything.
    (faults / "ifconfig").write_text("20\n")
    first = background(
        "deploy",
        "--host",
        name,
        "-i",
        edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.55/32")),
        "--confirm-timeout",
        "60",
    )
    try:
        runs = fresh.host_root(name) / "var/db/bsdprov/runs"
        deadline = time.monotonic() + 60
        while not (
            runs.exists() and any("activating" in p.read_text() for p in runs.glob("*/state"))
        ):
            assert time.monotonic() < deadline, "the first run never started activating"
            time.sleep(0.1)
        second_inventory = tmp_path / "second.yaml"
        second_inventory.write_text(
            Path(
                edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.56/32"))
            ).read_text()
        )
        second = bsdprov("deploy", "--host", name, "-i", str(second_inventory))
        assert second.returncode == ExitCode.FAILED
        assert "did not finish (state activating)" in second.stdout
    finally:
        (faults / "ifconfig").unlink()
        first.kill()
        first.wait()


def test_a_host_key_mismatch_stops_that_host(fresh: RunningLab, tmp_path: Path) -> None:
    name = fresh.names[0]
    other = fresh.names[1]

    def swap(data: dict[str, Any]) -> None:
        data["hosts"][name]["host_key"] = data["hosts"][other]["host_key"]

    result = bsdprov("plan", "--host", f"{name},{other}", "-i", edited(fresh, tmp_path, swap))
    assert result.returncode == ExitCode.UNREACHABLE, result.stdout + result.stderr
    assert f"== {name}: unreachable: " in result.stdout and "host key" in result.stdout
    assert f"== {other} (" in result.stdout, "the other host is planned all the same"


def test_a_file_changed_since_the_plan_stops_the_run(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    from bsdprov.apply import DeployOptions, _transact, plan_one
    from bsdprov.inventory import load_inventory
    from bsdprov.model import Host
    from bsdprov.ssh.transport import ConnectOptions, SSHTransport, connect

    name = fresh.names[2]
    inventory = load_inventory(
        edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.44/32"))
    )
    host = inventory.hosts[name]

    def connector(h: Host) -> SSHTransport:
        return connect(h, inventory.hosts, ConnectOptions())

    session = connector(host)
    plan, _ = plan_one(session, host)
    fresh.ssh(name, "echo '# edited by hand' >> /etc/ifconfig.vioif0")
    outcome = _transact(
        connector,
        session,
        host,
        plan,
        "20261123T000000Z-test",
        DeployOptions(confirm_timeout=10, user="test"),
        "deploy",
    )
    assert outcome.status == "failed"
    assert outcome.reason.startswith("changed since plan: /etc/ifconfig.vioif0")
    assert "# edited by hand" in (fresh.host_root(name) / "etc/ifconfig.vioif0").read_text()
    reboot_invariant(fresh, name)


def test_a_failing_activation_is_rolled_back_at_once(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = fresh.names[1]  # freebsd: activation is "service netif restart vtnet0"
    before = snapshot(fresh, name)
    faults = fresh.host_root(name) / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "service").write_text("service: simulated failure\n")
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.33/32"))
    result = bsdprov("deploy", "--host", name, "-i", inventory)
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "rolled-back (run " in result.stdout
    assert (
        "step failed (exit 1): service netif restart vtnet0: service: simulated failure"
        in result.stdout
    )
    assert snapshot(fresh, name) == before
    assert "203.0.113.33" not in fresh.ssh(name, "ifconfig vtnet0").stdout
    reboot_invariant(fresh, name)
