"""NetBSD on the lab, end to end: what a deploy leaves is what the host keeps (issues 10, 11)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov
from tests.e2e.test_deploy import edited

pytestmark = pytest.mark.e2e


@pytest.fixture
def netbsd(lab: RunningLab) -> str:
    name = next(n for n in lab.names if lab.os_of(n) == "netbsd")
    lab.reset(name)
    return name


def default_gateway(lab: RunningLab, name: str) -> str:
    shown = lab.ssh(name, "route -n get default", check=False).stdout
    return next((line.split()[1] for line in shown.splitlines() if "gateway:" in line), "")


def test_a_host_without_routes_keeps_its_default_route(
    lab: RunningLab, netbsd: str, tmp_path: Path
) -> None:
    """Issue 11.3: bsdprov never manages routes here, so activation must not lose them."""
    before = default_gateway(lab, netbsd)
    assert before

    def change(data: dict[str, Any]) -> None:
        host = data["hosts"][netbsd]
        del host["routes"]
        itf = host["interfaces"]["vioif0"]
        itf["addresses"] = [*itf["addresses"], "203.0.113.30/32"]

    inventory = edited(lab, tmp_path, change)
    deployed = bsdprov("deploy", "--host", netbsd, "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"{netbsd}  changed (run " in deployed.stdout
    assert "203.0.113.30/32" in lab.ssh(netbsd, "ifconfig vioif0").stdout
    assert default_gateway(lab, netbsd) == before


def boot_network(lab: RunningLab, name: str, *destroy: str) -> None:
    """The network part of a boot, from the installed files: cloned interfaces gone, then
    rc.d/network and rc.d/dhcpcd as /etc/rc runs them."""
    gone = "".join(f"ifconfig {i} destroy; " for i in destroy)
    lab.ssh(name, f"{gone}sh /etc/rc.d/network start >/dev/null; sh /etc/rc.d/dhcpcd start")


def test_a_bridge_keeps_its_vlan_member_after_a_boot(
    lab: RunningLab, netbsd: str, tmp_path: Path
) -> None:
    """Issue 10 case 7: the bridge's file runs before the vlan's at boot (ifconfig -C order)."""

    def change(data: dict[str, Any]) -> None:
        interfaces = data["hosts"][netbsd]["interfaces"]
        interfaces["vlan10"] = {"parent": "vioif0", "vlan": 10}
        interfaces["bridge0"] = {"members": ["vlan10"]}

    inventory = edited(lab, tmp_path, change)
    deployed = bsdprov("deploy", "--host", netbsd, "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    member = "\t\tvlan10 flags=3<LEARNING,DISCOVER>\n"
    assert member in lab.ssh(netbsd, "brconfig bridge0").stdout
    boot_network(lab, netbsd, "bridge0", "vlan10")
    assert member in lab.ssh(netbsd, "brconfig bridge0").stdout
    assert "\tvlan: 10 parent: vioif0\n" in lab.ssh(netbsd, "ifconfig vlan10").stdout


def test_dhcpcd_gives_up_the_interfaces_bsdprov_configures(
    lab: RunningLab, netbsd: str, tmp_path: Path
) -> None:
    """Issue 10 case 9: with dhcpcd=YES, dhcpcd runs on every interface it is not denied."""
    lab.ssh(netbsd, "echo dhcpcd=YES >>/etc/rc.conf && sh /etc/rc.d/dhcpcd start")
    state = "cat /var/lab/state/if/vioif0"
    assert "autoconf inet" in lab.ssh(netbsd, state).stdout

    def change(data: dict[str, Any]) -> None:
        itf = data["hosts"][netbsd]["interfaces"]["vioif0"]
        itf["addresses"] = [*itf["addresses"], "203.0.113.31/32"]

    inventory = edited(lab, tmp_path, change)
    planned = bsdprov("plan", "--host", netbsd, "-i", inventory)
    assert "+denyinterfaces vioif0\n" in planned.stdout, planned.stdout
    deployed = bsdprov("deploy", "--host", netbsd, "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "autoconf inet" not in lab.ssh(netbsd, state).stdout
    boot_network(lab, netbsd)
    assert "autoconf inet" not in lab.ssh(netbsd, state).stdout
    assert "203.0.113.31/32" in lab.ssh(netbsd, "ifconfig vioif0").stdout


def test_a_rolled_back_host_without_routes_keeps_its_default_route(
    lab: RunningLab, netbsd: str, tmp_path: Path
) -> None:
    """Issue 11.3: the rollback re-runs the same steps on the old files; the host must come
    back whole, its default route included, and be reported rolled back, not unreachable."""
    before = default_gateway(lab, netbsd)
    faults = lab.host_root(netbsd) / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "hostname").write_text("hostname: simulated failure\n")

    def change(data: dict[str, Any]) -> None:
        host = data["hosts"][netbsd]
        del host["routes"]
        host["hostname"] = "nb-renamed.example.org"
        itf = host["interfaces"]["vioif0"]
        itf["addresses"] = [*itf["addresses"], "203.0.113.32/32"]

    inventory = edited(lab, tmp_path, change)
    result = bsdprov("deploy", "--host", netbsd, "-i", inventory, "--confirm-timeout", "30")
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "rolled-back (run " in result.stdout
    assert "203.0.113.32" not in lab.ssh(netbsd, "ifconfig vioif0").stdout
    assert default_gateway(lab, netbsd) == before
