"""Issue 5 end to end: the example inventory's vmd hypervisor and its guests on a lab shaped
like it, driven through the real command over real OpenSSH.

From an empty hypervisor: deploy --all, verify, a second deploy that changes nothing; then the
three everyday edits (remove a VM, add a firewall rule, change a MAC) each give the minimal plan
and apply; and a hypervisor whose vmd fails rolls everything back, its guests untouched. Each
test ends with the reboot invariant (the ``reboot_invariant`` fixture, lab.reboot).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import (
    RebootInvariant,
    slot_dir,
    slot_port,
)
from tests.command import bsdprov
from tests.e2e.like_lab import LikeLab

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "inventories" / "example.yaml"
LAB_DIR = slot_dir(Path("/var/lib/bsdprov-lab-hypervisor-test"))
BASE_PORT = slot_port(24301)  # clear of the session lab (24001...) and the like-lab test (24201...)
LAB = LikeLab(LAB_DIR, BASE_PORT)
LIB = "/var/db/bsdprov/lib"
HOSTS = ("hv1", "web01", "db01", "web02", "fbsd1", "nbsd1", "obsd1", "v6gw")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example's hosts as lab hosts; yields the inventory that points at them."""
    with LAB.up(EXAMPLE, tmp_path_factory.mktemp("hypervisor")) as inventory:
        yield inventory


@pytest.fixture
def fresh(lab: Path) -> Path:
    LAB.reset()
    return lab


ssh = LAB.ssh
root = LAB.root


def edited(inventory: Path, change: Callable[[dict[str, Any]], None]) -> str:
    data = yaml.safe_load(inventory.read_text())
    change(data)
    path = inventory.with_name("edited.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def plan_of(inventory: str, host: str = "hv1") -> dict[str, Any]:
    result = bsdprov("plan", "--host", host, "--json", "-i", inventory)
    assert result.returncode == 0, result.stdout + result.stderr
    hosts: list[dict[str, Any]] = json.loads(result.stdout)["hosts"]
    (entry,) = hosts
    return entry


def deploy(*args: str) -> subprocess.CompletedProcess[str]:
    result = bsdprov("deploy", "--confirm-timeout", "30", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_an_empty_hypervisor_and_its_guests_reach_scenario_b(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    inventory = str(fresh)
    first = deploy("--all", "-i", inventory)
    # web01 and obsd1 start with the lab's files, which differ from bsdprov's only in
    # comments (no header): they are left as they are.
    assert "deploy: 8 hosts: 6 changed, 2 unchanged" in first.stdout
    assert "web01  unchanged\n" in first.stdout and "obsd1  unchanged\n" in first.stdout

    verified = bsdprov("verify", "--host", "hv1", "-i", inventory)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "FAIL" not in verified.stdout
    assert "running db01" in verified.stdout and "nat-to (em0)" in verified.stdout

    hv1 = root("hv1")
    assert (hv1 / "var/vmm/db01.qcow2").is_file(), "missing disks are created"
    assert (hv1 / "etc/pf.vm").stat().st_mode & 0o777 == 0o700
    assert (hv1 / "etc/pf.vm/web01.conf").stat().st_mode & 0o777 == 0o600
    pf_conf = (hv1 / "etc/pf.conf").read_text()
    assert pf_conf.endswith('include "/etc/pf.bsdprov.conf"\n'), "appended, admin rules kept"
    assert "set skip on lo" in pf_conf
    assert 'dhcpd_flags="vether0"' in (hv1 / "etc/rc.conf.local").read_text()
    assert "running web01" in ssh("hv1", "vmctl status")
    assert "inet 203.0.113.21 netmask 0xffffffff" in ssh("web01", "ifconfig vio0")
    assert "gateway: 198.51.100.1" in ssh("web01", "route -n get default")

    again = deploy("--all", "-i", inventory)
    assert "deploy: 8 hosts: 8 unchanged" in again.stdout
    reboot_invariant(LAB_DIR, *HOSTS)


def test_everyday_edits_give_the_minimal_plan_and_apply(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    deploy("--all", "-i", str(fresh))

    # Remove a VM: its block, its anchor line and file go; it is stopped; its disk stays.
    without = edited(fresh, lambda d: d["hosts"]["obsd1"].pop("vm"))
    plan = plan_of(without)
    assert {(f["path"], f["action"]) for f in plan["files"]} == {
        ("/etc/vm.conf", "modify"),
        ("/etc/pf.bsdprov.conf", "modify"),
        ("/etc/pf.vm/obsd1.conf", "remove"),
    }
    assert ["vmctl", "stop", "-w", "obsd1"] in plan["commands"]
    assert any("its disk /var/vmm/obsd1.qcow2 is kept" in n for n in plan["notes"])
    deploy("--host", "hv1", "-i", without)
    assert "obsd1" not in ssh("hv1", "vmctl status")
    assert (root("hv1") / "var/vmm/obsd1.qcow2").exists()
    assert "obsd1" not in ssh("hv1", "pfctl -vsA")

    # Add a firewall rule: one anchor file, loaded alone.
    rule = {"proto": "udp", "port": 53}
    more = edited(Path(without), lambda d: d["hosts"]["web01"]["vm"]["firewall"].append(rule))
    plan = plan_of(more)
    assert [f["path"] for f in plan["files"]] == ["/etc/pf.vm/web01.conf"]
    assert plan["commands"] == [["sh", f"{LIB}/pf-anchor", "vm/web01", "/etc/pf.vm/web01.conf"]]
    deploy("--host", "hv1", "-i", more)
    assert "port = 53" in ssh("hv1", "pfctl -a vm/web01 -sr")

    # Change a MAC: vm.conf and the DHCP lease; the running VM is restarted only when asked.
    new_mac = "02:00:00:00:01:99"
    moved = edited(Path(more), lambda d: d["hosts"]["db01"]["vm"]["nics"][0].update(mac=new_mac))
    plan = plan_of(moved)
    assert sorted(f["path"] for f in plan["files"]) == ["/etc/dhcpd.conf", "/etc/vm.conf"]
    assert any("db01's definition changed" in n for n in plan["notes"])
    deploy("--host", "hv1", "--restart-vms", "-i", moved)
    calls = (root("hv1") / "var/log/lab-calls.log").read_text()
    assert "/usr/sbin/vmctl stop -w db01" in calls
    assert f"hardware ethernet {new_mac};" in (root("hv1") / "etc/dhcpd.conf").read_text()
    assert bsdprov("verify", "--host", "hv1", "-i", moved).returncode == 0
    reboot_invariant(LAB_DIR, "hv1")


def test_a_failing_hypervisor_rolls_back_whole_and_its_guests_wait(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    # The first rcctl call of the run fails, so dhcpd is left stopped: verify sees it.
    faults = root("hv1") / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "rcctl").write_text("rcctl: injected failure\n")
    result = bsdprov("deploy", "--all", "--confirm-timeout", "30", "-i", str(fresh))
    # Guests not started because their hypervisor failed are skipped: its rollback decides.
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "verify failed: 'rcctl check dhcpd'" in result.stdout
    assert "hv1    rolled-back" in result.stdout
    assert "db01   skipped: not started: its hypervisor hv1 failed" in result.stdout
    hv1 = root("hv1")
    assert not (hv1 / "etc/vm.conf").exists() and not (hv1 / "etc/pf.vm/web01.conf").exists()
    assert "vmd(failed)" in ssh("hv1", "rcctl check vmd"), "vmd and its VMs are stopped again"
    assert ssh("hv1", "pfctl -a vm/web01 -sr") == "", "the anchor is flushed again"
    assert "net.inet.ip.forwarding=0" in ssh("hv1", "sysctl net.inet.ip.forwarding")
    assert "deploy: 8 hosts" in result.stdout
    reboot_invariant(LAB_DIR, *HOSTS)
