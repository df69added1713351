"""lab.up is idempotent, lab.reset renews a host, lab.down leaves no process behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsdprov.lab.manager import down_lab, read_status, reset_lab
from bsdprov.lab.paths import LabPaths
from bsdprov.lab.processes import listening_ports
from bsdprov.lab.pytest_plugin import RunningLab, skip_without_lab, slot_port, start_lab
from bsdprov.lab.state import load_state

pytestmark = pytest.mark.e2e

BASE_PORT = slot_port(24101)  # away from the session lab's 24001...


@pytest.fixture
def lab_dir(tmp_path: Path) -> Iterator[Path]:
    skip_without_lab()
    try:
        yield tmp_path / "lab"
    finally:
        down_lab(lab_dir=tmp_path / "lab", purge=True)


def _pids(lab_dir: Path) -> dict[str, int]:
    return {h.name: h.process.pid for h in load_state(LabPaths(lab_dir).state).hosts if h.process}


def _pid_namespaces(pids: dict[str, int]) -> set[str]:
    """The PID namespace of each host (that of its PID 1, the child of the recorded process)."""
    namespaces = set()
    for pid in pids.values():
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        namespaces |= {os.readlink(f"/proc/{child}/ns/pid") for child in children}
    return namespaces


def _processes_in(namespaces: set[str]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "ns/pid") in namespaces:
                found.append(int(entry.name))
        except OSError:
            continue  # the process ended while we looked
    return found


def _client_files(lab: RunningLab) -> list[str]:
    paths = (lab.status.ssh_config, lab.status.known_hosts, lab.inventory)
    return [path.read_text() for path in paths]


def test_up_is_idempotent_and_grows_without_restarting(lab_dir: Path) -> None:
    first = start_lab(lab_dir, hosts=2, base_port=BASE_PORT)
    pids = _pids(lab_dir)
    again = start_lab(lab_dir, hosts=2, base_port=BASE_PORT)
    assert _pids(lab_dir) == pids
    assert again.status == first.status
    assert _client_files(again) == _client_files(first)

    grown = start_lab(lab_dir, hosts=3, base_port=BASE_PORT)
    assert {k: v for k, v in _pids(lab_dir).items() if k in pids} == pids
    assert [h.port for h in grown.status.hosts] == [BASE_PORT, BASE_PORT + 1, BASE_PORT + 2]
    assert grown.ssh("lab03", "uname").stdout == "NetBSD\n"

    shrunk = start_lab(lab_dir, hosts=1, base_port=BASE_PORT)
    assert shrunk.names == ["lab01"]
    assert not LabPaths(lab_dir).host_dir("lab03").exists()
    assert "lab02" not in lab_dir.joinpath("ssh_config").read_text()


def test_changing_the_os_rebuilds_the_host_with_its_key_and_port(lab_dir: Path) -> None:
    before = start_lab(lab_dir, hosts=1, os_choice="openbsd", base_port=BASE_PORT)
    known = before.status.known_hosts.read_text()
    after = start_lab(lab_dir, hosts=1, os_choice="freebsd", base_port=BASE_PORT)
    assert after.ssh("lab01", "uname").stdout == "FreeBSD\n"
    assert after.status.known_hosts.read_text() == known


def test_reset_renews_state_and_keeps_keys_and_ports(lab_dir: Path) -> None:
    lab = start_lab(lab_dir, hosts=2, base_port=BASE_PORT)
    known = lab.status.known_hosts.read_text()
    for name in lab.names:
        lab.ssh(name, "echo dirty > /etc/dirty && touch /var/lab/state/dirty")
    pids = _pids(lab_dir)

    reset_lab("lab01", lab_dir=lab_dir, fakes=lab.fakes)
    assert lab.ssh("lab01", "ls /etc/dirty /var/lab/state/dirty", check=False).stdout == ""
    assert lab.ssh("lab02", "cat /etc/dirty").stdout == "dirty\n"
    assert _pids(lab_dir)["lab01"] != pids["lab01"]
    assert _pids(lab_dir)["lab02"] == pids["lab02"]
    assert read_status(lab_dir) == lab.status
    assert lab.status.known_hosts.read_text() == known

    reset_lab(lab_dir=lab_dir, fakes=lab.fakes)
    assert lab.ssh("lab02", "ls /etc/dirty", check=False).returncode != 0


def test_down_leaves_no_process_and_up_brings_the_hosts_back(lab_dir: Path) -> None:
    lab = start_lab(lab_dir, hosts=3, base_port=BASE_PORT)
    # A session that would outlive its connection, as a hung deploy would.
    lab.ssh("lab02", "sleep 600 </dev/null >/dev/null 2>&1 &")
    pids = _pids(lab_dir)
    namespaces = _pid_namespaces(pids)
    assert len(namespaces) == 3
    assert len(_processes_in(namespaces)) >= 4

    down_lab(lab_dir=lab_dir)
    assert _processes_in(namespaces) == []
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids.values())
    assert listening_ports().isdisjoint(h.port for h in lab.status.hosts)
    assert not any(h.running for h in read_status(lab_dir).hosts)

    back = start_lab(lab_dir, hosts=3, base_port=BASE_PORT)
    assert all(h.running for h in back.status.hosts)
    assert back.ssh("lab01", "uname").stdout == "OpenBSD\n"
