"""Issue 14 end to end: inventories/bhyve.yaml's FreeBSD bhyve hypervisor (vm-bhyve) and its two
failover guests on a lab shaped like it, driven through the real command over real OpenSSH.

From nothing: deploy --all, verify, a second deploy that changes nothing; adding and removing a
guest; a MAC change without and with --restart-vms; and a hypervisor whose vm-bhyve fails is
rolled back whole, its guests' VMs stopped and their hosts not started.
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
from bsdprov.lab.pytest_plugin import RebootInvariant, slot_dir, slot_port
from tests.command import bsdprov
from tests.e2e.like_lab import LikeLab

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "inventories" / "bhyve.yaml"
LAB_DIR = slot_dir(Path("/var/lib/bsdprov-lab-bhyve-test"))
BASE_PORT = slot_port(24501)  # clear of the other test labs (24001 ... 24401)
LAB = LikeLab(LAB_DIR, BASE_PORT)
LIB = "/var/db/bsdprov/lib"
VM = "/usr/local/sbin/vm"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example's hosts as lab hosts; yields the inventory that points at them."""
    with LAB.up(EXAMPLE, tmp_path_factory.mktemp("bhyve")) as inventory:
        yield inventory


@pytest.fixture
def fresh(lab: Path) -> Path:
    LAB.reset()
    return lab


ssh = LAB.ssh
root = LAB.root


def edited(
    inventory: Path, change: Callable[[dict[str, Any]], object], name: str = "edited.yaml"
) -> str:
    data = yaml.safe_load(inventory.read_text())
    change(data)
    path = inventory.with_name(name)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def plan_of(inventory: str, host: str = "bhv1") -> dict[str, Any]:
    result = bsdprov("plan", "--host", host, "--json", "-i", inventory)
    assert result.returncode == 0, result.stdout + result.stderr
    (entry,) = json.loads(result.stdout)["hosts"]
    assert isinstance(entry, dict)
    return entry


def deploy(*args: str) -> subprocess.CompletedProcess[str]:
    result = bsdprov("deploy", "--confirm-timeout", "30", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def running(name: str) -> bool:
    return any(
        line.split()[:1] == [name] and " Running (" in line
        for line in ssh("bhv1", f"{VM} list").splitlines()
    )


def test_from_nothing_the_guests_run_with_their_provider_macs(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    inventory = str(fresh)
    first = deploy("--all", "-i", inventory)
    # The lab made obsd-guest's files as the inventory says, with other comments only: a
    # difference in comments alone is left as it is.
    assert "deploy: 3 hosts: 2 changed, 1 unchanged" in first.stdout
    assert "obsd-guest  unchanged" in first.stdout

    verified = bsdprov("verify", "--host", "bhv1", "-i", inventory)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "FAIL" not in verified.stdout

    hv = root("bhv1")
    rc_conf = (hv / "etc/rc.conf").read_text()
    assert 'vm_enable="YES"\nvm_dir="/var/vm"\nvm_list="bsd-guest obsd-guest"\n' in rc_conf
    assert "bridge" not in rc_conf and "tap" not in rc_conf, "vm-bhyve owns bridges and taps"
    assert (hv / "var/vm/bsd-guest/disk0.img").is_file(), "missing disks are created"
    assert 'loader="uefi"' in (hv / "var/vm/obsd-guest/obsd-guest.conf").read_text()
    bridge = ssh("bhv1", "ifconfig vm-public")
    assert "member: em0 " in bridge and bridge.count("member: tap") == 2
    info = ssh("bhv1", f"{VM} info bsd-guest")
    assert "fixed-mac-address: 00:50:56:00:01:41" in info and "bridge: vm-public" in info
    assert "fixed-mac-address: 00:50:56:00:01:42" in ssh("bhv1", f"{VM} info obsd-guest")
    assert "inet 203.0.113.41 netmask 0xffffffff" in ssh("bsd-guest", "ifconfig vtnet0")

    # vm-bhyve wrote each guest's uuid on its first start: kept, and nothing left to do.
    assert 'uuid="' in (hv / "var/vm/bsd-guest/bsd-guest.conf").read_text()
    again = deploy("--all", "-i", inventory)
    assert "deploy: 3 hosts: 3 unchanged" in again.stdout
    # After lab.reboot, rc.d/vm brings vm_list back: the same switch, taps and guests.
    reboot_invariant(LAB_DIR, "bhv1")
    assert running("bsd-guest") and running("obsd-guest")


def test_adding_and_removing_a_guest(fresh: Path, reboot_invariant: RebootInvariant) -> None:
    deploy("--all", "-i", str(fresh))

    def add(data: dict[str, Any]) -> None:
        data["hosts"]["bsd-guest2"] = {
            **data["hosts"]["bsd-guest"],
            "vm": {
                "hypervisor": "bhv1",
                "disk": {"path": "/var/vm/bsd-guest2/disk0.img", "size": "10G"},
                "nics": [{"switch": "public", "mac": "00:50:56:00:01:43"}],
            },
        }

    more = edited(fresh, add, "more.yaml")
    plan = plan_of(more)
    assert {(f["path"], f["action"]) for f in plan["files"]} == {
        ("/etc/rc.conf", "modify"),
        ("/var/vm/bsd-guest2/bsd-guest2.conf", "create"),
    }
    deploy("--host", "bhv1", "-i", more)
    assert running("bsd-guest2") and running("bsd-guest")
    assert ssh("bhv1", "ifconfig vm-public").count("member: tap") == 3

    # Removing it again: it is stopped (its tap leaves the bridge), its files stay.
    plan = plan_of(str(fresh))
    assert [VM, "stop", "bsd-guest2"] in plan["commands"]
    assert any("its directory /var/vm/bsd-guest2 and its disk are kept" in n for n in plan["notes"])
    deploy("--host", "bhv1", "-i", str(fresh))
    assert not running("bsd-guest2") and running("bsd-guest") and running("obsd-guest")
    assert ssh("bhv1", "ifconfig vm-public").count("member: tap") == 2
    assert (root("bhv1") / "var/vm/bsd-guest2/disk0.img").exists()
    reboot_invariant(LAB_DIR, "bhv1")


def test_a_mac_change_restarts_the_guest_only_when_asked(fresh: Path) -> None:
    deploy("--all", "-i", str(fresh))
    new_mac = "00:50:56:00:01:99"
    moved = edited(fresh, lambda d: d["hosts"]["obsd-guest"]["vm"]["nics"][0].update(mac=new_mac))
    plan = plan_of(moved)
    assert [f["path"] for f in plan["files"]] == ["/var/vm/obsd-guest/obsd-guest.conf"]
    assert any("obsd-guest's definition changed" in n for n in plan["notes"])
    assert [VM, "restart", "obsd-guest"] not in plan["commands"]

    # Without --restart-vms: the file changes, the running guest is left alone (same pid).
    before = [line for line in ssh("bhv1", f"{VM} list").splitlines() if "obsd-guest" in line]
    deploy("--host", "bhv1", "-i", moved)
    calls = (root("bhv1") / "var/log/lab-calls.log").read_text()
    assert f"{VM} restart obsd-guest" not in calls and f"{VM} stop obsd-guest" not in calls
    after = [line for line in ssh("bhv1", f"{VM} list").splitlines() if "obsd-guest" in line]
    assert before == after

    # The same definition again with --restart-vms changes nothing: no file, no restart.
    assert plan_of(moved)["files"] == []

    # A second change with --restart-vms: restarted, and verify sees the new MAC.
    newer = edited(
        Path(moved),
        lambda d: d["hosts"]["obsd-guest"]["vm"]["nics"][0].update(mac="00:50:56:00:01:98"),
        "newer.yaml",
    )
    deploy("--host", "bhv1", "--restart-vms", "-i", newer)
    calls = (root("bhv1") / "var/log/lab-calls.log").read_text()
    assert f"{VM} restart obsd-guest" in calls
    assert running("obsd-guest")
    assert "fixed-mac-address: 00:50:56:00:01:98" in ssh("bhv1", f"{VM} info obsd-guest")
    assert bsdprov("verify", "--host", "bhv1", "-i", newer).returncode == 0


def test_a_failing_hypervisor_rolls_back_whole_and_its_guests_wait(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    # The first vm call of the run (vm init) fails: the helper fails, the deploy rolls back.
    faults = root("bhv1") / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "vm").write_text("vm: injected failure\n")
    result = bsdprov("deploy", "--all", "--confirm-timeout", "30", "-i", str(fresh))
    # Its guest is skipped, not failed: the hypervisor's rollback decides the exit code.
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "bhv1        rolled-back" in result.stdout
    assert "bsd-guest   skipped: not started: its hypervisor bhv1 failed" in result.stdout
    hv = root("bhv1")
    rc_conf = (hv / "etc/rc.conf").read_text() if (hv / "etc/rc.conf").exists() else ""
    assert "vm_enable" not in rc_conf and not (hv / "var/vm/.config/system.conf").exists()
    assert "vm-public" not in ssh("bhv1", "ifconfig -l"), "the switch is gone again"
    assert "tap" not in ssh("bhv1", "ifconfig -l"), "no guest runs"
    assert not list((hv / "var/lab/state/bhyve").glob("*-guest"))
    reboot_invariant(LAB_DIR, "bhv1")


def test_a_dropped_switch_and_port_go_live_and_a_rollback_brings_them_back(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    def with_lan(data: dict[str, Any]) -> None:
        data["hosts"]["bhv1"]["bhyve"]["switches"]["lan"] = {}

    v1 = edited(fresh, with_lan, "v1.yaml")
    deploy("--all", "-i", v1)
    assert "vm-lan" in ssh("bhv1", "ifconfig -l")
    assert "member: em0 " in ssh("bhv1", "ifconfig vm-public")

    # v2: switch lan dropped, em0 no longer a port of public; the guests stay on public.
    v2 = edited(fresh, lambda d: d["hosts"]["bhv1"]["bhyve"]["switches"].update(public={}))
    plan = plan_of(v2)
    assert any("switch lan is removed" in n for n in plan["notes"]), plan["notes"]
    assert any("em0 leaves switch public" in n for n in plan["notes"]), plan["notes"]
    deploy("--host", "bhv1", "-i", v2)
    hv = root("bhv1")
    conf = (hv / "var/vm/.config/system.conf").read_text()
    assert 'switch_list="public"' in conf and "lan" not in conf and "ports_public" not in conf
    assert "vm-lan" not in ssh("bhv1", "ifconfig -l"), "the dropped switch's bridge is gone"
    bridge = ssh("bhv1", "ifconfig vm-public")
    assert "member: em0 " not in bridge, "the dropped port left the bridge"
    assert bridge.count("member: tap") == 2, "the guests' taps stay"
    assert running("bsd-guest") and running("obsd-guest")
    assert bsdprov("verify", "--host", "bhv1", "-i", v2).returncode == 0

    # Rolling v2 back: lan's bridge and em0's membership are back, the guests untouched.
    undone = bsdprov("rollback", "--host", "bhv1", "-i", v2, "--confirm-timeout", "30")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "vm-lan" in ssh("bhv1", "ifconfig -l")
    bridge = ssh("bhv1", "ifconfig vm-public")
    assert "member: em0 " in bridge and bridge.count("member: tap") == 2
    assert 'switch_list="public lan"' in (hv / "var/vm/.config/system.conf").read_text()
    assert bsdprov("verify", "--host", "bhv1", "-i", v1).returncode == 0
    reboot_invariant(LAB_DIR, "bhv1")

    # v2 again, then the reboot invariant on the state without lan.
    deploy("--host", "bhv1", "-i", v2)
    assert "vm-lan" not in ssh("bhv1", "ifconfig -l")
    reboot_invariant(LAB_DIR, "bhv1")


def test_a_guest_left_on_a_dropped_switch_gets_its_tap_back_on_rollback(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    def on_lan(data: dict[str, Any]) -> None:
        data["hosts"]["bhv1"]["bhyve"]["switches"]["lan"] = {}
        data["hosts"]["obsd-guest"]["vm"]["nics"][0]["switch"] = "lan"

    v1 = edited(fresh, on_lan, "v1.yaml")
    deploy("--all", "-i", v1)
    assert "bridge: vm-lan" in ssh("bhv1", f"{VM} info obsd-guest")

    # v2 drops lan and moves the guest back to public, without --restart-vms: the guest keeps
    # running, its tap leaves the destroyed bridge (the plan says it loses its link).
    plan = plan_of(str(fresh))
    assert any("a guest still on it loses its link until restarted" in n for n in plan["notes"])
    deploy("--host", "bhv1", "-i", str(fresh))
    assert "vm-lan" not in ssh("bhv1", "ifconfig -l") and running("obsd-guest")
    assert "bridge: -" in ssh("bhv1", f"{VM} info obsd-guest")

    # The rollback recreates lan and puts the still-running guest's tap back into it.
    undone = bsdprov("rollback", "--host", "bhv1", "-i", str(fresh), "--confirm-timeout", "30")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "bridge: vm-lan" in ssh("bhv1", f"{VM} info obsd-guest")
    assert bsdprov("verify", "--host", "bhv1", "-i", v1).returncode == 0
    reboot_invariant(LAB_DIR, "bhv1")


def test_nat_for_the_guests_with_freebsd_pf_and_its_rollback(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    deploy("--all", "-i", str(fresh))
    assert "Disabled" in ssh("bhv1", "kldload -n pf; pfctl -s info; kldunload pf 2>/dev/null")

    def with_nat(data: dict[str, Any]) -> None:
        hv = data["hosts"]["bhv1"]
        hv["bhyve"]["switches"]["private"] = {"address": "10.0.0.1/24"}
        hv["nat"] = [{"from": "10.0.0.0/24", "out": "em0"}]
        hv["forwarding"] = {"inet": True}

    nat = edited(fresh, with_nat, "nat.yaml")
    deploy("--host", "bhv1", "-i", nat)
    hv = root("bhv1")
    assert 'pf_enable="YES"' in (hv / "etc/rc.conf").read_text()
    assert 'nat-anchor "bsdprov"' in (hv / "etc/pf.conf").read_text()
    assert "Status: Enabled" in ssh("bhv1", "pfctl -s info")
    assert 'nat-anchor "bsdprov" all' in ssh("bhv1", "pfctl -sn")
    rule = "nat on em0 inet from 10.0.0.0/24 to any -> (em0)"
    assert rule in ssh("bhv1", "pfctl -a bsdprov -sn")
    assert "inet 10.0.0.1 netmask 0xffffff00" in ssh("bhv1", "ifconfig vm-private")
    assert ": 1" in ssh("bhv1", "sysctl net.inet.ip.forwarding")
    assert bsdprov("verify", "--host", "bhv1", "-i", nat).returncode == 0
    assert plan_of(nat)["files"] == [], "a second plan changes nothing"
    # At boot rc.d/pf loads the same rules (pf_enable), vm init gives the switch its address.
    reboot_invariant(LAB_DIR, "bhv1")

    undone = bsdprov("rollback", "--host", "bhv1", "-i", nat, "--confirm-timeout", "30")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert not (hv / "etc/pf.conf").exists() and not (hv / "etc/pf.bsdprov.conf").exists()
    assert "Status: Disabled" in ssh("bhv1", "pfctl -s info")
    assert ssh("bhv1", "pfctl -sn").strip() == "" and ssh("bhv1", "pfctl -a bsdprov -sn") == ""
    assert "vm-private" not in ssh("bhv1", "ifconfig -l")
    assert ": 0" in ssh("bhv1", "sysctl net.inet.ip.forwarding")
    assert running("bsd-guest") and running("obsd-guest")
    reboot_invariant(LAB_DIR, "bhv1")


def test_nat_dropped_from_the_inventory_goes_live_and_a_rollback_brings_it_back(
    fresh: Path, reboot_invariant: RebootInvariant
) -> None:
    def with_nat(data: dict[str, Any]) -> None:
        hv = data["hosts"]["bhv1"]
        hv["nat"] = [{"from": "10.0.0.0/24", "out": "em0"}]
        hv["forwarding"] = {"inet": True}

    nat = edited(fresh, with_nat, "nat.yaml")
    deploy("--all", "-i", nat)
    rule = "nat on em0 inet from 10.0.0.0/24 to any -> (em0)"
    assert rule in ssh("bhv1", "pfctl -a bsdprov -sn")

    # Without nat: the hook leaves pf.conf, bsdprov's NAT file goes, the anchor is flushed.
    deploy("--host", "bhv1", "-i", str(fresh))
    hv = root("bhv1")
    assert not (hv / "etc/pf.bsdprov.conf").exists()
    assert "bsdprov" not in (hv / "etc/pf.conf").read_text()
    assert ssh("bhv1", "pfctl -sn") == "" and ssh("bhv1", "pfctl -a bsdprov -sn") == ""
    reboot_invariant(LAB_DIR, "bhv1")

    undone = bsdprov("rollback", "--host", "bhv1", "-i", str(fresh), "--confirm-timeout", "30")
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert rule in ssh("bhv1", "pfctl -a bsdprov -sn")
    assert bsdprov("verify", "--host", "bhv1", "-i", nat).returncode == 0
    reboot_invariant(LAB_DIR, "bhv1")
