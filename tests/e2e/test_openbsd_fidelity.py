"""Issue 10 on the lab's OpenBSD host: what bsdprov writes is what the host keeps after netstart's
boot run, through the real command over real OpenSSH.

- a default through a tunnel's peer comes back when netstart runs with no arguments (the boot
  order: mygate's defaults before the tunnels), and a gre tunnel gets net.inet.gre.allow;
- autoconf flags left by an installer are cleared on the interfaces bsdprov configures;
- a pf=NO in rc.conf.local becomes pf=YES when bsdprov loads pf rules.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RebootInvariant, RunningLab

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh(lab: RunningLab) -> RunningLab:
    lab.reset()
    return lab


def openbsd_host(lab: RunningLab) -> str:
    return next(name for name in lab.names if lab.os_of(name) == "openbsd")


def deploy(inventory: str, host: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bsdprov",
            "deploy",
            "--yes",
            "--host",
            host,
            "--confirm-timeout",
            "30",
        ]
        + ["-i", inventory],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def edited(
    lab: RunningLab, tmp_path: Path, host: str, change: Callable[[dict[str, Any]], None]
) -> str:
    data = yaml.safe_load(lab.inventory.read_text())
    change(data["hosts"][host])
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def add_tunnels(host: dict[str, Any]) -> None:
    (address,) = host["interfaces"]["vio0"]["addresses"]
    local = address.split("/")[0]
    host["interfaces"]["gif0"] = {
        "tunnel": {"local": local, "remote": "198.51.100.200"},
        "addresses": ["2001:db8:1::2/64"],
        "peer": "2001:db8:1::1",
    }
    host["interfaces"]["gre0"] = {
        "tunnel": {"local": local, "remote": "198.51.100.9"},
        "addresses": ["10.255.0.2/30"],
        "peer": "10.255.0.1",
    }
    host["routes"].append({"to": "default", "via": "2001:db8:1::1"})


def test_a_tunnel_default_and_its_sysctl_survive_netstarts_boot_run(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = openbsd_host(fresh)
    inventory = edited(fresh, tmp_path, name, add_tunnels)
    deploy(inventory, name)
    root = fresh.host_root(name)
    assert "2001:db8:1::1" not in (root / "etc/mygate").read_text()
    assert "interface: gif0" in fresh.ssh(name, "route -n get -inet6 default").stdout
    assert "net.inet.gre.allow=1" in (root / "etc/sysctl.conf").read_text()
    assert fresh.ssh(name, "sysctl -n net.inet.gre.allow").stdout == "1\n"

    # Boot, as far as the tunnels go: they are gone with their routes, then netstart runs
    # without arguments in its own order (mygate's defaults, then the delayed types).
    fresh.ssh(name, "ifconfig gif0 destroy; ifconfig gre0 destroy; sh /etc/netstart")
    got = fresh.ssh(name, "route -n get -inet6 default").stdout
    assert "gateway: 2001:db8:1::1" in got and "interface: gif0" in got
    verified = subprocess.run(
        [sys.executable, "-m", "bsdprov", "verify", "--host", name, "-i", inventory],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    reboot_invariant(fresh, name)


def test_autoconf_flags_left_by_the_installer_are_cleared(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = openbsd_host(fresh)
    fresh.ssh(name, "ifconfig vio0 inet6 autoconf")
    assert "AUTOCONF6" in fresh.ssh(name, "ifconfig vio0").stdout
    inventory = edited(
        fresh, tmp_path, name, lambda h: h["interfaces"]["vio0"].update(description="uplink")
    )
    result = deploy(inventory, name)
    shown = fresh.ssh(name, "ifconfig vio0").stdout
    assert "AUTOCONF" not in shown, result.stdout + shown
    calls = (fresh.host_root(name) / "var/log/lab-calls.log").read_text()
    assert "/sbin/ifconfig vio0 inet6 -autoconf\n" in calls
    reboot_invariant(fresh, name)


def test_a_rolled_back_switch_to_dhcp_leaves_no_autoconf_flag(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    """The cleanup steps run whatever the file says, so the rollback's re-run of the same steps
    on the restored static file clears the flag that the dhcp file had set."""
    name = openbsd_host(fresh)

    def dhcp(host: dict[str, Any]) -> None:
        host["interfaces"]["vio0"] = {"dhcp": True}
        host["routes"] = []

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bsdprov",
            "deploy",
            "--yes",
            "--host",
            name,
            "--confirm-timeout",
            "10",
        ]
        + ["-i", edited(fresh, tmp_path, name, dhcp)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    calls = (fresh.host_root(name) / "var/log/lab-calls.log").read_text()
    assert "/sbin/ifconfig vio0 inet autoconf\n" in calls, "the dhcp file was applied"
    shown = fresh.ssh(name, "ifconfig vio0").stdout
    assert "AUTOCONF" not in shown and "inet 198.18.0.1 " in shown, shown
    reboot_invariant(fresh, name)


def test_pf_no_in_rc_conf_local_becomes_yes(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = openbsd_host(fresh)
    rc_local = fresh.host_root(name) / "etc/rc.conf.local"
    rc_local.write_text("pf=NO\nntpd_flags=-s\n")

    def nat(host: dict[str, Any]) -> None:
        host["forwarding"] = {"inet": True}
        host["nat"] = [{"from": "10.70.0.0/24", "out": "vio0"}]

    deploy(edited(fresh, tmp_path, name, nat), name)
    assert rc_local.read_text() == 'pf="YES"\nntpd_flags=-s\n'
    assert "nat-to (vio0)" in fresh.ssh(name, "pfctl -sr").stdout
    reboot_invariant(fresh, name)
