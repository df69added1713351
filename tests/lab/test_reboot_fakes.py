"""The lab's reboot driver (fakes/common/usr/libexec/lab/reboot + reboot-<os>.sh), run under
dash, busybox ash and mksh in a simulated root (tests/lab/test_fakes.py's harness).

Power-off puts the state back to /var/lab/hardware; the boot runs each OS's sequence from the
host's files, in its order. Under LAB_ROOT the processes are left alone (/proc is this
machine's); tests/e2e/test_reboot.py covers that part on real lab hosts.
"""

# ruff: noqa: F811 (the harness's fixtures are imported, then named as parameters)
from __future__ import annotations

import re
import shlex
from collections.abc import Callable

import pytest

from bsdprov.lab.paths import BOOT_SCRIPT
from bsdprov.lab.reboot import HOST_CAPABILITIES
from bsdprov.lab.snapshot import live_state, state_difference
from tests.lab.test_fakes import (  # noqa: F401 (fixtures)
    DEFAULT_ARGS,
    NIC,
    VM_CONF,
    Host,
    _templates,
    _tools,
    make_host,
    scenario_b_interfaces,
    shell,
)

REBOOT = "sh $LAB_ROOT/usr/libexec/lab/reboot"


def reboot(host: Host) -> str:
    """Reboot the simulated host; return what its boot printed (stdout and stderr)."""
    res = host.run(REBOOT + " 2>&1")
    assert res.rc == 0, res.out + res.err
    return res.out


def calls_since(host: Host, mark: str) -> list[list[str]]:
    calls = host.calls()
    start = max(i for i, call in enumerate(calls) if call[0] == mark)
    return calls[start:]


@pytest.mark.parametrize("os_name", ["openbsd", "freebsd", "netbsd"])
def test_a_host_as_init_state_made_it_comes_back_the_same(
    make_host: Callable[..., Host], os_name: str
) -> None:
    # init-state writes both the files and the state they give, with an off-link gateway.
    host = make_host(os_name, "-n", "h1", os_name, NIC[os_name], "198.51.100.23/24", "203.0.113.1")
    before = live_state(host.root)
    output = reboot(host)
    assert output.startswith(f"lab.reboot: power-on: {NIC[os_name]} lo0 present, down,")
    assert output.endswith("lab.reboot: booted\n")
    assert state_difference(before, live_state(host.root)) == ""
    assert host.reachable()


@pytest.mark.parametrize("os_name", ["openbsd", "freebsd", "netbsd"])
def test_init_states_boot_path_gives_the_same_live_state(
    make_host: Callable[..., Host], os_name: str
) -> None:
    args = ("-n", "h1", os_name, NIC[os_name], "198.51.100.23/24", "203.0.113.1")
    direct, booted = make_host(os_name, *args), make_host(os_name, "-b", *args)
    assert state_difference(live_state(direct.root), live_state(booted.root)) == ""


@pytest.mark.parametrize(("os_name", "start"), [
    ("openbsd", "netstart"), ("freebsd", "netif"), ("netbsd", "network"),
])  # fmt: skip
def test_power_on_is_the_hardware_state(
    make_host: Callable[..., Host], os_name: str, start: str
) -> None:
    host = make_host(os_name)
    nic = NIC[os_name]
    # Each OS's way to set a MAC (ifconfig(8)): the NIC's own comes back at power-on.
    mac = {"openbsd": "lladdr", "freebsd": "ether", "netbsd": "link"}[os_name]
    active = " active" if os_name == "netbsd" else ""
    host.ok(f"ifconfig {nic} {mac} 02:00:00:00:00:99{active} && ifconfig gif0 create")
    assert "02:00:00:00:00:99" in host.ok(f"ifconfig {nic}")
    host.ok("sysctl net.inet.ip.forwarding=1 && hostname live")
    host.path("/var/lab/faults/fail").mkdir(parents=True)
    host.write(f"/var/lab/faults/fail/{start}", f"{start}: switched off for the test\n")
    output = reboot(host)
    assert f"{start}: switched off for the test" in output
    state = live_state(host.root)
    # The NIC with its own MAC, down and addressless; lo0 as the kernel brings it up.
    loop_mtu = {"openbsd": 32768, "freebsd": 16384, "netbsd": 33624}[os_name]
    assert [(i.name, i.settings) for i in state.interfaces] == [
        ("lo0", ("inet6 ::1 128", f"mtu {loop_mtu}", "type loop", "up 1")),
        (nic, ("lladdr 52:54:00:00:00:01", "mtu 1500", "type ether", "up 0")),
    ]
    assert "net.inet.ip.forwarding=0" in state.sysctls
    # Only loopback routes (FreeBSD's rc.d/routing still ran and added its reject routes).
    assert {route.split()[5] for route in state.routes} <= {"lo0"}, state.routes
    assert not host.reachable(), "the management address did not come back: a lock-out"
    # The host name comes back from the files all the same (before the network).
    assert state.hostname == DEFAULT_ARGS[os_name][1]


def test_openbsd_boots_in_rcs_order(make_host: Callable[..., Host]) -> None:
    host = make_host(
        "openbsd", "-n", "hv1", "-x", "em1", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1"
    )
    scenario_b_interfaces(host)
    host.write("/etc/sysctl.conf", "net.inet.ip.forwarding=1\t# routed\n\n#x=1\n")
    host.write("/etc/rc.local", "ifconfig vether0 > /tmp/seen\npfctl -sr >> /tmp/seen\n")
    host.ok("rcctl set dhcpd flags vether0 && rcctl enable dhcpd")
    host.write("/etc/dhcpd.conf", "subnet 10.50.0.0 netmask 255.255.255.0 {\n}\n")
    host.clear_calls()
    reboot(host)
    calls = [shlex.join(c) for c in host.calls()]
    order = [
        "/usr/libexec/lab/reboot",
        "/bin/hostname hv1",
        "/sbin/pfctl -f -",
        "/sbin/pfctl -e",
        "/sbin/sysctl net.inet.ip.forwarding=1",
        "/etc/netstart",
        "/sbin/pfctl -f /etc/pf.conf",
        "/usr/sbin/rcctl start dhcpd",
        "/usr/sbin/rcctl start cron",
    ]
    assert not [want for want in order if want not in calls], calls
    positions = [calls.index(want) for want in order]
    assert positions == sorted(positions), calls
    # rc.local ran after the network and pf, before cron.
    seen = host.path("/tmp/seen").read_text()
    assert "inet 10.50.0.1 netmask 0xffffff00" in seen and "block return all" in seen
    state = live_state(host.root)
    assert state.daemons == tuple(sorted(host.ok("rcctl ls on").split()))
    assert "dhcpd" in state.daemons
    assert "net.inet.ip.forwarding=1" in state.sysctls
    assert state.pf_enabled and state.pf_rules == ("block return all", "pass all flags S/SA")


def test_openbsd_pf_no_leaves_pf_disabled_at_boot(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    assert live_state(host.root).pf_enabled
    host.write("/etc/rc.conf.local", "pf=NO # the admin's\n")
    reboot(host)
    state = live_state(host.root)
    assert not state.pf_enabled and state.pf_rules == ()
    assert "/sbin/pfctl" not in {c[0] for c in calls_since(host, "/usr/libexec/lab/reboot")}


def test_openbsd_vmd_and_its_vms_come_back(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", "-x", "em1", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
    scenario_b_interfaces(host)
    host.write("/etc/vm.conf", VM_CONF)
    host.path("/var/vmm").mkdir()
    host.ok("vmctl create -s 20G /var/vmm/web01.qcow2 && vmctl create -s 40G /var/vmm/db01.qcow2")
    host.ok("sh $LAB_ROOT/etc/netstart && rcctl enable vmd && rcctl start vmd")
    # The VMs started in the other order than a boot starts them: another id and tap unit.
    host.ok("vmctl stop -w web01 && vmctl stop -w db01 && vmctl start db01 && vmctl start web01")
    before = live_state(host.root)
    assert before.vmd_running and "if tap(web01/if0): type tap" in before.lines()
    reboot(host)
    after = live_state(host.root)
    assert state_difference(before, after) == ""
    assert "running web01" in host.ok("vmctl status web01")


def test_a_live_only_vm_and_interface_are_gone_after_the_reboot(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd")
    host.ok("ifconfig vether0 create && ifconfig vether0 inet 10.0.0.1/24 up")
    host.ok("pfctl -a vm/web01 -f - </dev/null; echo pass | pfctl -a vm/web01 -f -")
    before = live_state(host.root)
    reboot(host)
    difference = state_difference(before, live_state(host.root))
    assert "-if vether0: inet 10.0.0.1 24" in difference
    assert "-pf anchor vm/web01: pass all flags S/SA" in difference


def test_freebsd_routing_sets_forwarding_after_sysctl_conf(
    make_host: Callable[..., Host],
) -> None:
    # rc.d/routing's options run after rc.d/sysctl: gateway_enable decides, as on FreeBSD.
    host = make_host("freebsd")
    host.write("/etc/sysctl.conf", "net.inet.ip.forwarding=1\n")
    reboot(host)
    assert "net.inet.ip.forwarding=0" in live_state(host.root).sysctls
    host.ok("sysrc gateway_enable=YES")
    reboot(host)
    assert "net.inet.ip.forwarding=1" in live_state(host.root).sysctls


def test_freebsd_without_a_hostname_warns(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.ok("sysrc -x hostname")
    output = reboot(host)
    assert "/etc/rc.d/hostname: WARNING: $hostname is not set -- see rc.conf(5)." in output
    assert live_state(host.root).hostname == ""


def test_netbsd_runs_sysctl_conf_then_network_then_rc_local(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("netbsd")
    host.write("/etc/sysctl.conf", "  net.inet6.ip6.forwarding=1   # routed\n")
    host.write("/etc/rc.local", "ifconfig vioif0 > /tmp/seen\n")
    host.write("/etc/rc.conf", host.path("/etc/rc.conf").read_text() + "dhcpcd=YES\n")
    output = reboot(host)
    assert "net.inet6.ip6.forwarding=1" in live_state(host.root).sysctls
    assert "inet 192.0.2.10/24" in host.path("/tmp/seen").read_text()
    if not host.path("/etc/rc.d/dhcpcd").exists():
        assert "dhcpcd=YES, but the lab has no /etc/rc.d/dhcpcd: not started" in output


def test_a_host_without_a_hardware_record_is_refused(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd")
    before = live_state(host.root)
    for path in sorted(host.path("/var/lab/hardware").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    res = host.run(REBOOT)
    assert (res.rc, res.err) == (1, "reboot: /var/lab/hardware is missing (the host predates "
                                   "lab.reboot): reset it with lab.reset\n")  # fmt: skip
    assert live_state(host.root) == before, "nothing touched"


def test_the_driver_gets_the_capabilities_of_an_ssh_session() -> None:
    boot = BOOT_SCRIPT.read_text()
    caps = "".join(re.findall(r"^caps=(?:\$caps,)?(\S+)$", boot, re.M))
    assert caps.replace(",", "") == HOST_CAPABILITIES.replace(",", "")
