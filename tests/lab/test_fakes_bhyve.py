"""The lab's vm-bhyve fake (freebsd/usr/local/sbin/vm and rc.d/vm) under dash, busybox ash and
mksh: the files it reads and writes are vm-bhyve's, its bridges and taps are the ifconfig fake's.
"""

from __future__ import annotations

from collections.abc import Callable

from bsdprov.inventory import parse_inventory
from bsdprov.render import file_content, render_host
from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host

INVENTORY = """
hosts:
  hv:
    os: freebsd
    interfaces: {vtnet0: {addresses: [192.0.2.10/24]}}
    bhyve: {vm_dir: /vm, switches: {public: {ports: [vtnet0]}}}
  g1:
    os: freebsd
    vm:
      hypervisor: hv
      disk: {path: /vm/g1/disk0.img, size: 1G}
      nics: [{switch: public, mac: "00:50:56:00:01:aa"}]
  g2:
    os: openbsd
    vm:
      hypervisor: hv
      disk: {path: /vm/g2/disk0.img, size: 1G}
      nics: [{switch: public, mac: "00:50:56:00:01:bb"}]
"""


def freebsd(make_host: Callable[..., Host]) -> Host:
    """A FreeBSD lab host whose PATH has /usr/local/sbin, as root's login PATH does."""
    host = make_host("freebsd")
    host.env["PATH"] = f"{host.root}/usr/local/sbin:{host.env['PATH']}"
    return host


def hypervisor(make_host: Callable[..., Host]) -> Host:
    """A FreeBSD lab host holding bsdprov's rendering of ``hv`` (files and disks)."""
    host = freebsd(make_host)
    inventory = parse_inventory(INVENTORY, "inventory.yaml")
    rendered = render_host(inventory.hosts["hv"], guests=inventory.guests("hv"))
    for spec in rendered.files:
        path = host.path(spec.path)
        current = path.read_text() if path.exists() else None
        host.write(spec.path, file_content(spec, current))
    for creation in rendered.creates:
        host.write(creation.path, "lab disk image\n")
    return host


def test_init_makes_each_switch_a_bridge_with_its_ports(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("vm init")
    bridge = host.ok("ifconfig vm-public")
    assert bridge.startswith("vm-public: flags="), bridge
    assert "member: vtnet0 " in bridge
    listing = host.ok("vm switch list").splitlines()
    assert listing[1].split() == ["public", "standard", "vm-public", "-", "no", "-", "-", "vtnet0"]
    host.ok("vm init")  # a second init finds the bridge and makes no other
    assert host.ok("ifconfig -l").split().count("vm-public") == 1


def test_start_puts_a_tap_in_the_bridge_and_info_shows_the_mac(
    make_host: Callable[..., Host],
) -> None:
    host = hypervisor(make_host)
    host.ok("vm init && vm start g1")
    info = host.ok("vm info g1")
    assert "fixed-mac-address: 00:50:56:00:01:aa" in info
    assert "active-device: tap0" in info and "bridge: vm-public" in info
    assert "desc: vmnet/g1/0/public" in info
    assert "member: tap0 " in host.ok("ifconfig vm-public")
    line = next(x for x in host.ok("vm list").splitlines() if x.startswith("g1 "))
    assert "Running (" in line and "Yes [1]" in line
    # vm::run writes a uuid on the first start; bsdprov's keys are untouched.
    assert 'uuid="' in host.path("/vm/g1/g1.conf").read_text()


def test_stop_destroys_the_tap_and_a_second_stop_fails(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("vm init && vm start g1")
    host.ok("vm stop g1")
    assert "tap0" not in host.ok("ifconfig -l").split()
    assert "member: tap" not in host.ok("ifconfig vm-public")
    res = host.run("vm stop g1")
    assert res.rc == 1 and "doesn't appear to be a running virtual machine" in res.err


def test_vm_refuses_to_run_without_vm_enable(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("sysrc vm_enable=NO")
    res = host.run("vm list")
    assert res.rc == 1 and "$vm_enable is not enabled in /etc/rc.conf!" in res.err
    assert "NAME" in host.ok("rc_force=YES vm list")


def test_a_guest_without_its_disk_or_firmware_does_not_run(
    make_host: Callable[..., Host],
) -> None:
    host = hypervisor(make_host)
    host.path("/vm/g1/disk0.img").unlink()
    host.path("/usr/local/share/uefi-firmware/BHYVE_UEFI.fd").unlink()
    host.ok("vm init && vm start g1 && vm start g2")  # vm start backgrounds the guest
    listing = host.ok("vm list")
    assert "Running" not in listing
    assert "No such file or directory" in host.path("/vm/g1/vm-bhyve.log").read_text()
    assert "uefi firmware" in host.path("/vm/g2/vm-bhyve.log").read_text()


def test_restart_takes_a_new_mac(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("vm init && vm start g1")
    host.ok("sysrc -f /vm/g1/g1.conf network0_mac=00:50:56:00:01:cc")
    assert "fixed-mac-address: 00:50:56:00:01:cc" in host.ok("vm info g1")
    host.ok("vm restart g1")
    assert "state: running" in host.ok("vm info g1")
    assert "member: tap0 " in host.ok("ifconfig vm-public")


def test_rc_script_starts_vm_list_in_order_and_stops_them(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("service vm start")
    vm_calls = [c[1:] for c in host.calls() if c[0] == "/usr/local/sbin/vm"]
    assert vm_calls == [["init"], ["startall"]]
    # vm_list order: g1 gets the first tap.
    assert "active-device: tap0" in host.ok("vm info g1")
    assert "active-device: tap1" in host.ok("vm info g2")
    assert len(host.ok("ifconfig vm-public").split("member: tap")) == 3
    assert host.ok("vm list").count("Running") == 2
    host.ok("service vm stop")
    assert "Running" not in host.ok("vm list")
    assert "member: tap" not in host.ok("ifconfig vm-public")


def test_rc_script_does_nothing_while_vm_enable_is_off(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("sysrc vm_enable=NO && service vm start")
    assert host.run("ifconfig vm-public").rc != 0
    host.ok("service vm onestart")
    assert host.ok("rc_force=YES vm list").count("Running") == 2


def test_switch_create_and_add_write_system_conf(make_host: Callable[..., Host]) -> None:
    host = freebsd(make_host)
    host.ok("sysrc vm_enable=YES vm_dir=/vm && mkdir -p $LAB_ROOT/vm")
    host.ok("ifconfig tap create")  # any interface to add: tap0
    host.ok("vm switch create lan && vm switch add lan tap0")
    conf = host.path("/vm/.config/system.conf").read_text()
    assert 'switch_list="lan"' in conf and 'type_lan="standard"' in conf
    assert 'ports_lan="tap0"' in conf
    assert "member: tap0 " in host.ok("ifconfig vm-lan")
    host.ok("vm switch destroy lan")
    assert host.run("ifconfig vm-lan").rc != 0


def test_a_nic_without_a_mac_gets_one_written_as_vm_bhyve_does(
    make_host: Callable[..., Host],
) -> None:
    host = hypervisor(make_host)
    host.ok("sysrc -xf /vm/g1/g1.conf network0_mac uuid || :")
    host.ok("vm init && vm start g1")
    conf = host.path("/vm/g1/g1.conf").read_text()
    mac = next(x for x in conf.splitlines() if x.startswith("network0_mac="))
    assert mac.startswith('network0_mac="58:9c:fc:0'), mac
    uuid = next(x for x in conf.splitlines() if x.startswith("uuid="))
    assert uuid != 'uuid="00000000-0000-4000-8000-000000000000"', uuid


def test_vm_bhyve_writing_a_guest_file_keeps_its_mode(make_host: Callable[..., Host]) -> None:
    # sysrc (which vm-bhyve's config::set runs) keeps the file's mode, even under umask 077.
    host = hypervisor(make_host)
    host.ok("umask 077 && vm init && vm start g1")
    assert host.path("/vm/g1/g1.conf").stat().st_mode & 0o777 == 0o644


def test_pgrep_and_pkill_see_the_guests_bhyve_processes(make_host: Callable[..., Host]) -> None:
    host = hypervisor(make_host)
    host.ok("vm init && vm start g1 && vm start g2")
    listed = host.ok("pgrep -fl 'bhyve:'").splitlines()
    assert [line.split(" ", 1)[1] for line in listed] == ["bhyve: g1", "bhyve: g2"]
    assert host.run("pgrep -f '^bhyve: g3$'").rc == 1
    # With its NAME.conf gone vm-bhyve cannot stop g1; its bhyve still takes a SIGTERM, and the
    # taps it had go with it.
    host.path("/vm/g1/g1.conf").unlink()
    host.ok("pkill -TERM -f '^bhyve: g1$'")
    assert host.run("pgrep -f '^bhyve: g1$'").rc == 1
    assert host.ok("ifconfig vm-public").count("member: tap") == 1
    assert host.ok("pgrep -f '^bhyve: g2$'").strip()


def test_routing_options_sets_forwarding_either_way(make_host: Callable[..., Host]) -> None:
    # The step bsdprov runs for a bhyve host's forwarding, then its rollback (key gone).
    host = freebsd(make_host)
    host.ok("sysrc gateway_enable=YES && service routing options")
    assert host.ok("sysctl net.inet.ip.forwarding").strip() == "net.inet.ip.forwarding: 1"
    host.ok("sysrc -x gateway_enable && service routing options")
    assert host.ok("sysctl net.inet.ip.forwarding").strip() == "net.inet.ip.forwarding: 0"
