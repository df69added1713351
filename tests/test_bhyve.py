"""FreeBSD bhyve hypervisors (vm-bhyve): the example inventory, what check refuses, the files
and steps rendered, and the guest lifecycle the planner adds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsdprov.errors import InventoryError
from bsdprov.facts import ObservedFile
from bsdprov.fleet import hypervisor_stages
from bsdprov.inventory import Inventory, load_inventory, parse_inventory
from bsdprov.lifecycle import VmOptions
from bsdprov.plan import Plan, PlanOptions, plan_host
from bsdprov.render import file_content, render_host
from bsdprov.render.bhyve import BHYVE_APPLY
from bsdprov.rollback import with_undo

EXAMPLE_PATH = Path(__file__).parent.parent / "inventories" / "bhyve.yaml"
EXAMPLE = load_inventory(EXAMPLE_PATH)
VM = "/usr/local/sbin/vm"


def rendered(inventory: Inventory = EXAMPLE, name: str = "bhv1") -> dict[str, str]:
    """Each rendered file's content on an empty host, by path."""
    result = render_host(inventory.hosts[name], guests=inventory.guests(name))
    return {spec.path: file_content(spec, None) for spec in result.files}


def problems(change: Callable[[dict[str, Any]], object]) -> str:
    """The check messages after ``change`` (a function of the example's data)."""
    data = yaml.safe_load(EXAMPLE_PATH.read_text())
    change(data)
    with pytest.raises(InventoryError) as caught:
        parse_inventory(yaml.safe_dump(data, sort_keys=False), "bhyve.yaml")
    return str(caught.value)


def test_the_example_renders_vm_bhyves_files() -> None:
    files = rendered()
    rc_conf = files["/etc/rc.conf"]
    assert rc_conf.endswith('vm_enable="YES"\nvm_dir="/var/vm"\nvm_list="bsd-guest obsd-guest"\n')
    assert "cloned_interfaces" not in rc_conf, "vm-bhyve owns its bridges and taps"
    assert files["/var/vm/.config/system.conf"] == (
        'switch_list="public"\ntype_public="standard"\nports_public="em0"\n'
    )
    assert files["/var/vm/bsd-guest/bsd-guest.conf"] == (
        'loader="bhyveload"\ncpu="2"\nmemory="1G"\nnetwork0_type="virtio-net"\n'
        'network0_switch="public"\nnetwork0_mac="00:50:56:00:01:41"\ndisk0_type="virtio-blk"\n'
        'disk0_dev="file"\ndisk0_name="disk0.img"\n'
    )
    assert 'loader="uefi"\n' in files["/var/vm/obsd-guest/obsd-guest.conf"]


def test_hypervisor_goes_first_and_its_steps_end_with_the_helper() -> None:
    assert hypervisor_stages(EXAMPLE, list(EXAMPLE.hosts)) == (
        ["bhv1"],
        {"bsd-guest": "bhv1", "obsd-guest": "bhv1"},
    )
    result = render_host(EXAMPLE.hosts["bhv1"], guests=EXAMPLE.guests("bhv1"))
    assert result.steps[-1].argv == ("sh", BHYVE_APPLY, "/var/vm", "public", "bsd-guest obsd-guest")
    assert not any("netif" in " ".join(s.argv) and "tap" in " ".join(s.argv) for s in result.steps)
    assert [c.argv for c in result.creates] == [
        ("truncate", "-s", "20G", "/var/vm/bsd-guest/disk0.img"),
        ("truncate", "-s", "20G", "/var/vm/obsd-guest/disk0.img"),
    ]
    verify = [(" ".join(c.argv), c.expect) for c in result.verify]
    assert (f"{VM} switch list", "^public +standard +vm-public ") in verify
    assert (f"{VM} info bsd-guest", "fixed-mac-address: 00:50:56:00:01:41$") in verify
    assert (f"{VM} list", "^bsd-guest .* Running ") in verify


def test_a_disk_outside_the_guests_directory_is_a_custom_one() -> None:
    data = yaml.safe_load(EXAMPLE_PATH.read_text())
    data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = "/data/bsd-guest.img"
    data["hosts"]["bsd-guest"]["vm"]["cdrom"] = "/var/vm/.iso/FreeBSD.iso"
    inventory = parse_inventory(yaml.safe_dump(data), "bhyve.yaml")
    conf = rendered(inventory)["/var/vm/bsd-guest/bsd-guest.conf"]
    assert 'disk0_dev="custom"\ndisk0_name="/data/bsd-guest.img"\n' in conf
    assert 'disk1_type="ahci-cd"\ndisk1_dev="custom"\ndisk1_name="/var/vm/.iso/FreeBSD.iso"' in conf


def test_vm_bhyves_own_keys_and_the_admins_stay_in_a_guest_file() -> None:
    result = render_host(EXAMPLE.hosts["bhv1"], guests=EXAMPLE.guests("bhv1"))
    spec = next(s for s in result.files if s.path == "/var/vm/bsd-guest/bsd-guest.conf")
    before = 'uuid="1b2c"\ngraphics="yes"\nnetwork1_type="e1000"\nmemory="512M"\n'
    after = file_content(spec, before)
    assert 'uuid="1b2c"\ngraphics="yes"\n' in after and 'memory="1G"' in after
    assert "network1_type" not in after, "a NIC the inventory does not have goes"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["hosts"]["bsd-guest"]["vm"].update(firewall=[{"proto": "tcp"}]),
            "hosts.bsd-guest.vm.firewall: per-VM firewall rules are not supported on bhyve",
        ),
        (
            lambda d: d["hosts"]["bsd-guest"]["vm"]["nics"][0].update(switch="lan"),
            "hosts.bsd-guest.vm.nics[0].switch: 'bhv1' has no switch 'lan' (it has 'public')",
        ),
        (
            lambda d: d["hosts"]["obsd-guest"]["vm"]["nics"][0].update(mac="00:50:56:00:01:41"),
            "MAC '00:50:56:00:01:41' is already used by 'bsd-guest' on 'bhv1'",
        ),
        (
            lambda d: d["hosts"]["obsd-guest"]["vm"]["disk"].update(path="/var/vm/o.qcow2"),
            "bhyve reads raw disk images only",
        ),
        (
            lambda d: d["hosts"]["bsd-guest"]["interfaces"]["vtnet0"].update(
                mac="00:50:56:00:01:99"
            ),
            "hosts.bsd-guest.interfaces.vtnet0.mac: 00:50:56:00:01:99 differs from "
            "vm.nics[0].mac 00:50:56:00:01:41, the MAC bhyve gives vtnet0",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["interfaces"].update(bridge0={"members": ["em0"]}),
            "hosts.bhv1.interfaces.bridge0: vm-bhyve creates and owns the bridges",
        ),
        (
            lambda d: d["hosts"]["bhv1"].update(os="openbsd"),
            "hosts.bhv1.bhyve: only FreeBSD hosts run bhyve",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:zroot"),
            "give 'zfs:' a dataset below a pool, such as 'zfs:zroot/vm'",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["bhyve"]["switches"].update({"my-lan": {}}),
            "vm-bhyve switch names here are a letter then up to 11",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["bhyve"]["switches"]["public"].update(ports=["em9"]),
            "hosts.bhv1.bhyve.switches.public.ports[0]: 'em9' is not among the host's interfaces",
        ),
        (
            lambda d: d["hosts"]["bsd-guest"]["vm"]["nics"][0].update(address="10.0.0.5"),
            "bhyve hypervisors run no DHCP server here",
        ),
        (
            lambda d: d["hosts"]["bsd-guest"].pop("os"),
            "vm-bhyve needs to know how to boot it",
        ),
    ],
)
def test_check_refuses_what_bhyve_cannot_do(
    change: Callable[[dict[str, Any]], object], message: str
) -> None:
    text = problems(change)
    assert message in text
    assert "bhyve.yaml:" in text, "each problem names the file and line"


def test_a_vmd_guest_takes_no_cpus() -> None:
    text = (
        "hosts:\n  hv:\n    os: openbsd\n    interfaces: {bridge0: {}}\n"
        "    switches: {lan: bridge0}\n"
        "  g:\n    os: openbsd\n    vm:\n      hypervisor: hv\n      cpus: 2\n"
        "      disk: {path: /var/vmm/g.img, size: 1G}\n      nics: [{switch: lan}]\n"
    )
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, "inv.yaml")
    assert "hosts.g.vm.cpus: vmd takes no 'cpus'" in str(caught.value)


def _plan(old: dict[str, str], restart: bool = False) -> Plan:
    """The plan against a host holding ``old`` files."""
    result = render_host(EXAMPLE.hosts["bhv1"], guests=EXAMPLE.guests("bhv1"))
    observed = {p: ObservedFile(p, text, 0o644, "root", "wheel") for p, text in old.items()}
    return plan_host(result, observed, options=PlanOptions(vms=VmOptions(restart_vms=restart)))


def test_a_changed_guest_is_restarted_only_with_restart_vms() -> None:
    current = rendered()
    old = dict(current)
    path = "/var/vm/obsd-guest/obsd-guest.conf"
    old[path] = current[path].replace("00:50:56:00:01:42", "00:50:56:00:01:99")
    plan = _plan(old)
    argvs = [s.argv for s in plan.steps]
    assert (VM, "restart", "obsd-guest") not in argvs
    assert any("obsd-guest's definition changed" in n for n in plan.notes)
    plan = _plan(old, restart=True)
    argvs = [s.argv for s in plan.steps]
    helper = next(i for i, a in enumerate(argvs) if a[:2] == ("sh", BHYVE_APPLY))
    assert argvs[helper + 1] == (VM, "restart", "obsd-guest")
    assert (VM, "restart", "bsd-guest") not in argvs, "an unchanged guest keeps running"


def test_a_guest_left_out_is_stopped_before_the_helper_and_its_disk_kept() -> None:
    current = rendered()
    old = dict(current)
    old["/etc/rc.conf"] = current["/etc/rc.conf"].replace(
        'vm_list="bsd-guest obsd-guest"', 'vm_list="bsd-guest obsd-guest gone"'
    )
    plan = _plan(old)
    argvs = [s.argv for s in plan.steps]
    stop = argvs.index((VM, "stop", "gone"))
    assert argvs[stop + 1][:2] == ("sh", BHYVE_APPLY)
    assert any("/var/vm/gone and its disk are kept" in n for n in plan.notes)


def test_forwarding_on_a_bhyve_host_is_gateway_enable_applied_by_routing_options() -> None:
    data = yaml.safe_load(EXAMPLE_PATH.read_text())
    data["hosts"]["bhv1"]["forwarding"] = {"inet": True, "inet6": False}
    inventory = parse_inventory(yaml.safe_dump(data), "bhyve.yaml")
    assert 'gateway_enable="YES"\nipv6_gateway_enable="NO"\n' in rendered(inventory)["/etc/rc.conf"]
    result = render_host(inventory.hosts["bhv1"], guests=inventory.guests("bhv1"))
    options = next(s for s in result.steps if s.argv == ("service", "routing", "options"))
    assert options.triggers == ("/etc/rc.conf#gateway_enable", "/etc/rc.conf#ipv6_gateway_enable")
    verify = [(c.argv, c.expect) for c in result.verify]
    assert (("sysctl", "net.inet.ip.forwarding"), ": 1$") in verify
    assert (("sysctl", "net.inet6.ip6.forwarding"), ": 0$") in verify


def test_the_rollback_runs_the_helper_on_the_restored_files_and_restarts_again() -> None:
    current = rendered()
    old = dict(current)
    path = "/var/vm/obsd-guest/obsd-guest.conf"
    old[path] = current[path].replace("00:50:56:00:01:42", "00:50:56:00:01:99")
    old["/etc/rc.conf"] = current["/etc/rc.conf"].replace(
        'vm_list="bsd-guest obsd-guest"', 'vm_list="bsd-guest obsd-guest gone"'
    )
    plan = with_undo(_plan(old, restart=True))
    undo = [s.argv for s in plan.undo_steps]
    assert ("sh", BHYVE_APPLY, "/var/vm", "public", "bsd-guest obsd-guest gone") in undo
    assert undo[-1] == (VM, "restart", "obsd-guest")


def test_a_first_deploy_rolls_back_to_no_vm_bhyve() -> None:
    plan = with_undo(_plan({}))
    undo = [s.argv for s in plan.undo_steps]
    assert undo[-1] == ("sh", BHYVE_APPLY, "/var/vm", "public", "bsd-guest obsd-guest")
