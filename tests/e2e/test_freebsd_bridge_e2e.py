"""FreeBSD on a lab shaped like an inventory (``lab.up --like``), end to end over SSH (issue 10
cases 4 and 5): a vlan in a bridge stays there when its parent is reconfigured, and a changed
default gateway beside a DHCP interface replaces the old one; both hold after a boot.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bsdprov.lab.manager import down_lab, up_like_lab
from bsdprov.lab.pytest_plugin import RebootInvariant, skip_without_lab, slot_dir, slot_port
from tests.command import bsdprov
from tests.e2e.test_freebsd_fidelity_e2e import BOOT

pytestmark = pytest.mark.e2e

LAB_DIR = slot_dir(Path("/var/lib/bsdprov-lab-fbsd-bridge-test"))
BASE_PORT = slot_port(24401)  # away from the other test labs (24001, 24101, 24201)
SOURCE = """\
hosts:
  fb1:
    os: freebsd
    interfaces:
      vtnet0: {addresses: [192.0.2.10/24]}
      vtnet1: {up: true, mtu: 1500}
      vtnet2: {dhcp: true}
      vlan10: {parent: vtnet1, vlan: 10}
      tap0: {up: true}
      bridge0: {members: [vlan10, tap0], addresses: [10.10.0.1/24]}
    routes:
      - {to: default, via: 192.0.2.1}
"""


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    skip_without_lab()
    work = tmp_path_factory.mktemp("fbsd-bridge")
    (work / "source.yaml").write_text(SOURCE)
    try:
        up_like_lab(
            work / "source.yaml", lab_dir=LAB_DIR, inventory=work / "lab.yaml", base_port=BASE_PORT
        )
        yield work / "lab.yaml"
    finally:
        down_lab(lab_dir=LAB_DIR, purge=True)


def ssh(command: str) -> str:
    argv = ["ssh", "-F", str(LAB_DIR / "ssh_config"), "fb1", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout


def deploy(inventory: Path, tmp_path: Path, change: dict[str, object]) -> str:
    """Apply ``change`` to the inventory deployed last (the lab's at first) and deploy it."""
    edited = tmp_path / "inventory.yaml"
    data = yaml.safe_load((edited if edited.exists() else inventory).read_text())
    host = data["hosts"]["fb1"]
    for key, value in change.items():
        if key == "routes":
            host["routes"] = value
        else:
            host["interfaces"][key].update(value)
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    result = bsdprov("deploy", "--host", "fb1", "-i", str(edited), "--confirm-timeout", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def bridge_members() -> list[str]:
    return sorted(
        line.split()[1] for line in ssh("ifconfig bridge0").splitlines() if "member:" in line
    )


def test_vlan_parent_and_gateway_changes_match_a_boot(
    inventory: Path, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    deploy(inventory, tmp_path, {})
    assert bridge_members() == ["tap0", "vlan10"]

    # Case 5: only vtnet1's line changes; its restart destroys and re-creates vlan10.
    deploy(inventory, tmp_path, {"vtnet1": {"mtu": 9000}})
    assert bridge_members() == ["tap0", "vlan10"]
    assert " mtu 9000\n" in ssh("ifconfig vtnet1")

    # Case 4: the default moves on a host with a DHCP interface (routing start, not restart).
    deploy(inventory, tmp_path, {"routes": [{"to": "default", "via": "192.0.2.254"}]})
    assert "gateway: 192.0.2.254\n" in ssh("route -n get default")

    ssh(BOOT)
    assert bridge_members() == ["tap0", "vlan10"]
    assert " mtu 9000\n" in ssh("ifconfig vtnet1")
    assert "gateway: 192.0.2.254\n" in ssh("route -n get default")
    reboot_invariant(LAB_DIR, "fb1")
