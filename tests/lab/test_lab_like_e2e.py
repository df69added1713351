"""``lab.up --like``: a lab shaped like an inventory, which bsdprov then checks and plans."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bsdprov.lab.manager import down_lab, reset_lab, up_like_lab
from bsdprov.lab.pytest_plugin import skip_without_lab, slot_dir, slot_port
from tests.command import bsdprov

pytestmark = pytest.mark.e2e

LAB_DIR = slot_dir(Path("/var/lib/bsdprov-lab-like-test"))
# away from the session lab (24001...) and the lifecycle tests (24101...)
BASE_PORT = slot_port(24201)
SOURCE = """\
defaults: {user: root, become: none}
groups:
  guests:
    hosts: [web01, web02]
    vars: {user: admin, become: doas}
hosts:
  hv1:
    address: 192.0.2.10
    os: openbsd
    interfaces:
      em0: {addresses: [192.0.2.10/24], description: uplink}
      em1: {up: true, description: trunk}
      bridge0: {members: [em1]}
    routes:
      - {to: default, via: 192.0.2.1}
    switches: {lan: bridge0}
  web01:
    address: 203.0.113.21
    os: openbsd
    via: hv1
    vm:
      hypervisor: hv1
      memory: 1G
      disk: {path: /var/vmm/web01.qcow2, size: 20G}
      nics: [{switch: lan, mac: "02:00:00:00:01:01"}]
    interfaces:
      vio0: {addresses: [203.0.113.21/32]}
    routes:
      - {to: default, via: 198.51.100.1, onlink: true}
  web02: {os: netbsd, interfaces: {vioif0: {dhcp: true}}}
  printer: {address: 192.0.2.77}
"""


@pytest.fixture(scope="module")
def like_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The lab of SOURCE; yields the inventory lab.up wrote."""
    skip_without_lab()
    work = tmp_path_factory.mktemp("like")
    (work / "source.yaml").write_text(SOURCE)
    try:
        status = up_like_lab(
            work / "source.yaml", lab_dir=LAB_DIR, inventory=work / "lab.yaml", base_port=BASE_PORT
        )
        assert status.notes == (
            "host 'printer' has no 'os': left out of the lab",
            "host 'web02': no static IPv4 address in the inventory; the lab reaches it on "
            "vioif1 198.18.0.3/24",
        )
        assert [(h.name, h.os, h.running) for h in status.hosts] == [
            ("hv1", "openbsd", True),
            ("web01", "openbsd", True),
            ("web02", "netbsd", True),
        ]
        yield work / "lab.yaml"
    finally:
        down_lab(lab_dir=LAB_DIR, purge=True)


def ssh(name: str, command: str) -> str:
    argv = ["ssh", "-F", str(LAB_DIR / "ssh_config"), name, command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout


def test_hosts_are_named_and_wired_like_the_inventory(like_lab: Path) -> None:
    assert ssh("hv1", "uname -n; uname -r") == "hv1\n7.6\n"
    assert ssh("hv1", "cat /etc/hostname.em0") == "inet 192.0.2.10 255.255.255.0\n"
    assert "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255\n" in ssh(
        "hv1", "ifconfig em0"
    )
    assert ssh("hv1", "ifconfig em1").startswith("em1: flags=8802<")
    assert ssh("hv1", "route -n get default | grep gateway") == "    gateway: 192.0.2.1\n"
    assert "\tinet 198.18.0.3/24 broadcast 198.18.0.255 flags 0\n" in ssh(
        "web02", "ifconfig vioif1"
    )
    assert "address: " in ssh("web02", "ifconfig vioif0")


def test_bsdprov_checks_and_plans_the_lab(like_lab: Path) -> None:
    checked = bsdprov("check", "-i", str(like_lab))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[0].startswith("hv1    openbsd, root@127.0.0.1:")
    planned = bsdprov("plan", "--all", "-i", str(like_lab))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "== hv1 (openbsd)" in planned.stdout
    assert "+++ b/hv1:/etc/hostname.bridge0" in planned.stdout
    report = planned.stdout.partition("\nPLAN RECAP\n")[0]
    assert report.rstrip().splitlines()[-1].startswith("plan: 3 hosts")


def test_reset_brings_a_host_back_to_its_initial_state(like_lab: Path) -> None:
    ssh("hv1", "ifconfig em1 inet 10.9.9.9/24 && ifconfig vether0 create")
    reset_lab("hv1", lab_dir=LAB_DIR)
    assert "inet" not in ssh("hv1", "ifconfig em1")
    assert (
        subprocess.run(
            ["ssh", "-F", str(LAB_DIR / "ssh_config"), "hv1", "ifconfig vether0"],
            capture_output=True,
            text=True,
            timeout=60,
        ).returncode
        == 1
    )
    assert "host_key: ssh-ed25519 " in like_lab.read_text()
