"""Lab hosts seen through real OpenSSH: identity, SFTP, lock-out, dropped connections, isolation."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from invoke.context import Context

from bsdprov.inventory import load_inventory
from bsdprov.lab import tasks
from bsdprov.lab.pytest_plugin import RunningLab

pytestmark = pytest.mark.e2e

UNAME = {"openbsd": "OpenBSD", "freebsd": "FreeBSD", "netbsd": "NetBSD"}
RELEASE = {"openbsd": "7.6", "freebsd": "14.1-RELEASE", "netbsd": "10.0"}
HOSTS = ["lab01", "lab02", "lab03"]
# The probe's PATH (reference/detection.md): sbin first, where an applet link would shadow a fake.
PROBE_PATH = "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin"


def test_the_lab_has_one_host_of_each_os(lab: RunningLab) -> None:
    assert [(h.name, h.os, h.running) for h in lab.status.hosts] == [
        ("lab01", "openbsd", True),
        ("lab02", "freebsd", True),
        ("lab03", "netbsd", True),
    ]


@pytest.mark.parametrize("name", HOSTS)
def test_host_answers_uname_as_its_os(lab: RunningLab, name: str) -> None:
    os_key = lab.os_of(name)
    words = lab.ssh(name, "uname -a").stdout.split()
    assert words[:3] == [UNAME[os_key], name, RELEASE[os_key]]
    assert lab.ssh(name, f"PATH={PROBE_PATH}; uname -s; hostname").stdout.split() == [
        UNAME[os_key],
        name,
    ]


def test_strict_host_key_checking_rejects_a_wrong_key(lab: RunningLab, tmp_path: Path) -> None:
    lines = lab.status.known_hosts.read_text().splitlines()
    wrong = tmp_path / "known_hosts"
    # lab01's port with lab02's key: ssh must refuse, never ask or update the file.
    wrong.write_text(lines[0].split()[0] + " " + " ".join(lines[1].split()[1:]) + "\n")
    result = subprocess.run(
        lab.ssh_argv("lab01", "-o", f"UserKnownHostsFile={wrong}", "true"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr
    (tmp_path / "empty").write_text("")
    result = subprocess.run(
        lab.ssh_argv("lab01", "-o", f"UserKnownHostsFile={tmp_path / 'empty'}", "true"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 255


def test_login_is_by_key_only(lab: RunningLab) -> None:
    no_key = [
        "ssh", "-F", "/dev/null", "-p", str(lab.port_of("lab01")),
        "-o", f"UserKnownHostsFile={lab.status.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/nonexistent", "-o", "BatchMode=yes",
        "root@127.0.0.1", "true",
    ]  # fmt: skip
    result = subprocess.run(no_key, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr


def test_inventory_matches_the_running_lab(lab: RunningLab) -> None:
    inventory = load_inventory(lab.inventory)
    known = dict(line.split(" ", 1) for line in lab.status.known_hosts.read_text().splitlines())
    for status in lab.status.hosts:
        host = inventory.hosts[status.name]
        assert (host.address, host.port, host.os) == ("127.0.0.1", status.port, status.os)
        assert host.host_key == known[f"[127.0.0.1]:{status.port}"]
        (interface,) = host.interfaces
        address = host.interfaces[interface].addresses[0]
        assert lab.ssh(status.name, "cat /var/lab/mgmt").stdout == f"{interface} {address.ip}\n"
        # The simulated config is really there: ifconfig shows the address, netstat the route.
        assert str(address.ip) in lab.ssh(status.name, f"ifconfig {interface}").stdout
        assert host.routes is not None
        assert str(host.routes[0].via) in lab.ssh(status.name, "netstat -rn").stdout


def test_status_task_prints_the_lab_as_json(
    lab: RunningLab, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BSDPROV_LAB_DIR", str(lab.status.lab_dir))
    tasks.status_(Context(), json=True)
    assert json.loads(capsys.readouterr().out) == lab.status.to_json()


@pytest.mark.parametrize("name", HOSTS)
def test_busybox_applets_never_shadow_a_fake(lab: RunningLab, name: str) -> None:
    trees = [lab.fakes / "common", lab.fakes / lab.os_of(name)]
    faked = sorted(
        {
            entry.name
            for tree in trees
            for directory in ("bin", "sbin", "usr/bin", "usr/sbin")
            if (tree / directory).is_dir()
            for entry in (tree / directory).iterdir()
        }
    )
    assert "uname" in faked
    script = (
        f"PATH={PROBE_PATH}; for name in {' '.join(faked)}; do "
        'path=$(command -v "$name"); case $(readlink "$path") in *busybox) echo "$name";; esac; '
        "done"
    )
    assert lab.ssh(name, script).stdout == ""


def test_sftp_put_and_get(lab: RunningLab, tmp_path: Path) -> None:
    payload = f"payload {uuid.uuid4()}\n"
    (tmp_path / "up.txt").write_text(payload)
    batch = tmp_path / "batch"
    batch.write_text(f"put {tmp_path / 'up.txt'} /tmp/up.txt\nget /etc/passwd {tmp_path}/passwd\n")
    result = subprocess.run(
        ["sftp", "-F", str(lab.ssh_config), "-b", str(batch), "lab02"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert lab.ssh("lab02", "cat /tmp/up.txt").stdout == payload
    assert (tmp_path / "passwd").read_text().startswith("root:*:0:0:")


def test_interactive_sessions_get_a_terminal(lab: RunningLab) -> None:
    result = subprocess.run(
        lab.ssh_argv("lab01", "-tt", "tty"),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("/dev/pts/")


LOSE_CONFIG = {
    "address": "ifconfig {interface} inet {address} delete",
    "default-route": "route delete default",
}


@pytest.mark.parametrize("change", LOSE_CONFIG)
@pytest.mark.parametrize("name", HOSTS)
def test_lockout_until_the_config_is_restored(lab: RunningLab, name: str, change: str) -> None:
    host = load_inventory(lab.inventory).hosts[name]
    (interface,) = host.interfaces
    address = host.interfaces[interface].addresses[0].ip
    lose = LOSE_CONFIG[change].format(interface=interface, address=address)
    # One session makes the change, waits for a line on stdin, then restores the saved state,
    # as bsdprov's on-host revert job will.
    script = (
        "rm -rf /tmp/saved && cp -Rp /var/lab/state /tmp/saved && "
        f"{lose} >/dev/null && echo changed && read -r _ && "
        "rm -rf /var/lab/state && mv /tmp/saved /var/lab/state && echo restored"
    )
    with subprocess.Popen(
        lab.ssh_argv(name, script),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as session:
        assert session.stdout is not None and session.stdin is not None
        try:
            assert session.stdout.readline() == "changed\n"
            refused = lab.ssh(name, "true", check=False)
            assert refused.returncode == 255
            assert "Connection reset" in refused.stderr or "closed" in refused.stderr
            session.stdin.write("go\n")
            session.stdin.flush()
            assert session.stdout.readline() == "restored\n"
        finally:
            session.stdin.close()
            session.wait(timeout=30)
            _restore_from_outside(lab, name)
    assert lab.ssh(name, "echo back").stdout == "back\n"
    assert "host unreachable" in (lab.host_root(name) / "var/log/lab-gate.log").read_text()


def _restore_from_outside(lab: RunningLab, name: str) -> None:
    """Put the saved state back if the session could not, so later tests find a sane host."""
    saved = lab.host_root(name) / "tmp/saved"
    if saved.is_dir():
        state = lab.host_root(name) / "var/lab/state"
        shutil.rmtree(state)
        saved.rename(state)


def test_drop_after_cuts_connections(lab: RunningLab) -> None:
    switch = lab.host_root("lab03") / "var/lab/faults/drop_after"
    lab.ssh("lab03", "mkdir -p /var/lab/faults && echo 1 > /var/lab/faults/drop_after")
    try:
        started = time.monotonic()
        dropped = lab.ssh("lab03", "sleep 10; echo finished", check=False, timeout=30)
        elapsed = time.monotonic() - started
    finally:
        switch.unlink(missing_ok=True)
    assert dropped.returncode == 255
    assert "finished" not in dropped.stdout
    assert 1 <= elapsed < 5
    assert lab.ssh("lab03", "sleep 2; echo finished").stdout == "finished\n"


def test_hosts_are_isolated_from_each_other_and_from_this_machine(lab: RunningLab) -> None:
    marker = f"lab-marker-{uuid.uuid4()}"
    lab.ssh("lab01", f"echo lab01 > /etc/{marker} && echo lab01 > /tmp/{marker}")
    assert (lab.host_root("lab01") / "etc" / marker).read_text() == "lab01\n"
    assert lab.ssh("lab02", f"ls /etc/{marker} /tmp/{marker}", check=False).returncode != 0
    assert not Path("/etc", marker).exists() and not Path("/tmp", marker).exists()

    # Processes: the host sees its own PID namespace only, and cannot signal ours.
    assert lab.ssh("lab01", "cat /proc/1/cmdline | tr '\\0' ' '").stdout.startswith(
        "/bin/busybox nc "
    )
    pids = lab.ssh("lab01", "ls /proc | grep -c '^[0-9]'").stdout
    assert int(pids) < 20
    assert lab.ssh("lab01", f"kill -0 {os.getpid()}", check=False).returncode != 0

    # Network: only a loopback interface of its own; other hosts' ports are out of reach.
    assert lab.ssh("lab01", "ip -o link | cut -d: -f2").stdout.split() == ["lo"]
    other = lab.port_of("lab02")
    assert lab.ssh("lab01", f"nc -w 1 127.0.0.1 {other} </dev/null", check=False).returncode != 0

    # The shared binaries are read-only, and root cannot leave through capabilities it lost.
    assert "Read-only" in lab.ssh("lab01", "touch /bin/busybox", check=False).stderr
    assert lab.ssh("lab01", "mount -t tmpfs none /tmp", check=False).returncode != 0
    assert "not permitted" in lab.ssh("lab01", "date -s 2001-01-01", check=False).stderr
