"""lab.reboot on the session lab: what a reboot keeps, what it drops, and bsdprov's boot hook.

A reboot keeps the files and nothing else: the host comes back with what its files say (its OS's
own boot sequence runs them), which is how a wrong file shows as a lock-out; and a deploy still
awaiting its confirmation is rolled back at boot by the hook bsdprov puts in /etc/rc.local.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from bsdprov.lab.snapshot import file_bytes, files_difference, live_state, state_difference
from tests.e2e.test_deploy import HOST_FILES, IFACE, background, edited, run_state

pytestmark = pytest.mark.e2e

OSES = ["openbsd", "freebsd", "netbsd"]
# A sysctl each OS's boot sets from /etc/sysctl.conf and nothing later resets (FreeBSD's
# rc.d/routing sets the forwarding ones from gateway_enable after sysctl.conf).
FILE_SYSCTL = {
    "openbsd": "net.inet6.ip6.forwarding",
    "freebsd": "net.link.tap.up_on_open",
    "netbsd": "net.inet6.ip6.accept_rtadv",
}


def host_of(lab: RunningLab, os_name: str) -> str:
    return next(name for name in lab.names if lab.os_of(name) == os_name)


def processes(lab: RunningLab, name: str) -> str:
    """The command lines of the host's processes, one per line (its own /proc)."""
    command = "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' <$f; echo; done"
    return lab.ssh(name, command).stdout


@pytest.mark.parametrize("os_name", OSES)
def test_a_reboot_keeps_what_the_files_say_and_drops_what_only_ran(
    lab: RunningLab, os_name: str
) -> None:
    name = host_of(lab, os_name)
    lab.reset(name)
    root = lab.host_root(name)
    booted = live_state(root)
    nic = IFACE[os_name]
    # Live only: an address, a sysctl, a cloned interface and a process.
    lab.ssh(name, f"ifconfig {nic} inet 203.0.113.9/32 alias")
    lab.ssh(name, "sysctl net.inet.ip.forwarding=1")
    lab.ssh(name, "ifconfig gif0 create")
    lab.ssh(name, "nohup sleep 600 >/dev/null 2>&1 &")
    assert "sleep 600" in processes(lab, name)
    # In a file: a sysctl.
    sysctl = FILE_SYSCTL[os_name]
    lab.ssh(name, f"echo '{sysctl}=1 # set at boot' >> /etc/sysctl.conf")

    output = lab.reboot(name)

    assert "lab.reboot: booted" in output
    difference = state_difference(booted, live_state(root))
    changed = [line for line in difference.splitlines()[2:] if line[:1] in "+-"]
    assert changed == [f"-sysctl: {sysctl}=0", f"+sysctl: {sysctl}=1"], difference
    assert "203.0.113.9" not in lab.ssh(name, f"ifconfig {nic}").stdout
    assert "sleep 600" not in processes(lab, name)
    assert lab.ssh(name, "true").returncode == 0, "the management address is back"


def test_files_that_lose_the_management_address_lock_the_host_out_after_a_reboot(
    lab: RunningLab,
) -> None:
    name = host_of(lab, "freebsd")
    lab.reset(name)
    rc_conf = lab.host_root(name) / "etc/rc.conf"
    good = rc_conf.read_text()
    rc_conf.write_text(good.replace('ifconfig_vtnet0="inet ', 'ifconfig_vtnet0="inet 10.9.9.9 #'))

    lab.reboot(name)  # through the host's namespaces: a console, not SSH

    locked = lab.ssh(name, "true", check=False)
    assert locked.returncode == 255, "a host whose files lose its address is unreachable"
    rc_conf.write_text(good)
    lab.reboot(name)
    assert lab.ssh(name, "true").returncode == 0


@pytest.mark.parametrize("os_name", OSES)
def test_a_reboot_while_a_run_awaits_its_confirmation_rolls_the_run_back(
    lab: RunningLab, tmp_path: Path, os_name: str
) -> None:
    name = host_of(lab, os_name)
    lab.reset(name)
    root = lab.host_root(name)
    files = file_bytes(root, HOST_FILES[os_name])
    state = live_state(root)

    def move(data: dict[str, Any]) -> None:  # the new address locks the controller out
        host = data["hosts"][name]
        (itf,) = host["interfaces"].values()
        itf["addresses"] = ["198.18.9.9/24"]
        host["routes"] = [{"to": "default", "via": "198.18.9.254"}]

    inventory = edited(lab, tmp_path, move)
    controller = background("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "600")
    try:
        runs = root / "var/db/bsdprov/runs"
        deadline = time.monotonic() + 90
        while not (runs.is_dir() and [p for p in runs.glob("*/state") if _awaits(p)]):
            assert controller.poll() is None, controller.communicate()
            assert time.monotonic() < deadline, "the run never reached awaiting-confirm"
            time.sleep(0.1)
        (run,) = runs.iterdir()
        assert lab.ssh(name, "true", check=False).returncode == 255, "locked out, unconfirmed"

        output = lab.reboot(name)

        assert run_state(lab, name, run.name) == "rolled-back", output
        reason = (run / "reason").read_text()
        assert reason == "the host restarted before the run was confirmed\n"
        assert files_difference(files, file_bytes(root, HOST_FILES[os_name])) == ""
        assert state_difference(state, live_state(root)) == ""
        assert lab.ssh(name, "true").returncode == 0
        # The controller, still trying to confirm, learns it from the host.
        out, err = controller.communicate(timeout=120)
        assert controller.returncode == ExitCode.ROLLED_BACK, out + err
        assert "the host restarted before the run was confirmed" in out
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.communicate()


def _awaits(state: Path) -> bool:
    return state.read_text().strip() == "awaiting-confirm"


def test_the_lab_reboot_task(lab: RunningLab) -> None:
    name = lab.names[0]
    env = {**os.environ, "BSDPROV_LAB_DIR": str(lab.status.lab_dir)}

    def task(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "bsdprov", "lab.reboot", *args]
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)

    done = task(name)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("lab.reboot: stopping every process of the host\n")
    assert done.stdout.endswith(f"lab.reboot: booted\nlab.reboot: {name} rebooted\n")
    assert "starting network" in done.stdout
    boot = done.stdout.removesuffix(f"lab.reboot: {name} rebooted\n")
    assert boot in (lab.status.lab_dir / "hosts" / name / "console.log").read_text()

    missing = task("nosuch")
    assert missing.returncode == 1
    assert missing.stderr == (
        f"lab.reboot: no host 'nosuch' in {lab.status.lab_dir}; its hosts are "
        f"{', '.join(lab.names)}\n"
    )
    assert task("--help").returncode == 2
