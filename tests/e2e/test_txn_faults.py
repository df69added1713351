"""The on-host transaction's fault cases of issue 11 and the planned boot hook of issue 16, on
the lab's hosts over real OpenSSH: a deadline that comes while the activation still runs, a
symbolic-linked rc.conf, the boot hook shown, installed and restored like any file."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsdprov.boot_hook import BOOT_HOOK
from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov
from tests.e2e.test_deploy import IFACE, add_alias, edited, run_id_of, snapshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh(lab: RunningLab) -> RunningLab:
    lab.reset()
    return lab


def of_os(lab: RunningLab, os: str) -> str:
    return next(name for name in lab.names if lab.os_of(name) == os)


def test_the_deadline_stops_the_running_activation_before_restoring(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = of_os(fresh, "openbsd")
    before = snapshot(fresh, name)
    hang = fresh.host_root(name) / "var/lab/faults/hang/netstart"
    hang.parent.mkdir(parents=True, exist_ok=True)
    hang.write_text("15\n")  # netstart still runs when the 10 s deadline comes
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.44/32"))
    try:
        result = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "10")
    finally:
        hang.unlink()
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "not confirmed within 10s" in result.stdout
    assert snapshot(fresh, name) == before
    assert "203.0.113.44" not in fresh.ssh(name, f"ifconfig {IFACE['openbsd']}").stdout
    run = fresh.host_root(name) / "var/db/bsdprov/runs" / run_id_of(result.stdout)
    journal = (run / "journal").read_text()
    stopped = journal.index("the activation has stopped")
    assert stopped < journal.index("restored /etc/hostname.vio0")
    assert "state awaiting-confirm" not in journal
    time.sleep(2)
    assert (run / "state").read_text() == "rolled-back\n", "nothing wrote over the rollback"


def test_a_symlinked_rc_conf_stays_a_link_through_deploy_and_rollback(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = of_os(fresh, "freebsd")
    etc = fresh.host_root(name) / "etc"
    (etc / "rc.conf").rename(etc / "rc.conf.real")
    (etc / "rc.conf").symlink_to("rc.conf.real")
    before = (etc / "rc.conf.real").read_bytes()
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.45/32"))
    deployed = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert (etc / "rc.conf").is_symlink()
    assert b"203.0.113.45" in (etc / "rc.conf.real").read_bytes()
    assert "203.0.113.45" in fresh.ssh(name, f"ifconfig {IFACE['freebsd']}").stdout
    undone = bsdprov("rollback", "--host", name, "-i", inventory)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert (etc / "rc.conf").is_symlink()
    assert (etc / "rc.conf.real").read_bytes() == before


def test_the_boot_hook_is_planned_installed_and_restored(fresh: RunningLab, tmp_path: Path) -> None:
    name = of_os(fresh, "netbsd")
    rc_local = fresh.host_root(name) / "etc/rc.local"
    had = rc_local.read_bytes() if rc_local.exists() else None
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.46/32"))
    planned = bsdprov("plan", "--host", name, "-i", inventory)
    assert f"+++ b/{name}:/etc/rc.local\n" in planned.stdout
    assert f"+{BOOT_HOOK}\n" in planned.stdout
    deployed = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert rc_local.read_text().endswith(BOOT_HOOK + "\n")
    again = bsdprov("plan", "--host", name, "-i", inventory, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    assert bsdprov("rollback", "--host", name, "-i", inventory).returncode == 0
    assert (rc_local.read_bytes() if rc_local.exists() else None) == had


def sshd_pid(lab: RunningLab, name: str) -> int:
    """The PID (as this machine numbers it) of the host's SSH listener, in its namespaces."""
    listening = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{lab.port_of(name)}"], capture_output=True, text=True
    ).stdout
    return int(listening.split("pid=")[1].split(",")[0])


def in_host(lab: RunningLab, name: str, *argv: str) -> None:
    """Run ``argv`` in the host's mount namespace and root (the lab host cannot mount)."""
    pid = str(sshd_pid(lab, name))
    subprocess.run(["nsenter", "-t", pid, "-m", "-r", *argv], check=True)


@pytest.fixture
def small_state_dir(fresh: RunningLab) -> Iterator[str]:
    """A 512 KB tmpfs over the OpenBSD host's /var/db/bsdprov, unmounted afterwards."""
    name = of_os(fresh, "openbsd")
    (fresh.host_root(name) / "var/db/bsdprov").mkdir(parents=True, exist_ok=True)
    in_host(fresh, name, "/bin/busybox", "mount", "-t", "tmpfs", "-o", "size=512k,mode=700",
            "tmpfs", "/var/db/bsdprov")  # fmt: skip
    yield name
    in_host(fresh, name, "/bin/busybox", "umount", "-l", "/var/db/bsdprov")


@pytest.mark.parametrize("room_kb", [0, 120], ids=["full", "nearly-full"])
def test_a_full_state_directory_fails_the_run_with_the_old_files_in_place(
    fresh: RunningLab, small_state_dir: str, tmp_path: Path, room_kb: int
) -> None:
    name = small_state_dir
    fill = (
        "dd if=/dev/zero of=/var/db/bsdprov/fill bs=4096 2>/dev/null; "
        f"size=$(wc -c </var/db/bsdprov/fill); truncate -s $((size - {room_kb * 1024})) "
        "/var/db/bsdprov/fill"
    )
    fresh.ssh(name, fill, check=False)
    before = snapshot(fresh, name)
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.47/32"))
    result = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30")
    assert result.returncode == ExitCode.FAILED, result.stdout + result.stderr
    assert "no space left on /var/db/bsdprov" in result.stdout, result.stdout
    assert "unreachable" not in result.stdout.partition("\nDEPLOY RECAP\n")[0]
    assert snapshot(fresh, name) == before
    assert not (fresh.host_root(name) / "etc/rc.local").exists()
    assert "203.0.113.47" not in fresh.ssh(name, f"ifconfig {IFACE['openbsd']}").stdout
    fresh.ssh(name, "rm -f /var/db/bsdprov/fill")
    again = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30")
    assert again.returncode == 0, again.stdout + again.stderr
