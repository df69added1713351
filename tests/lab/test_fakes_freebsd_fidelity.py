"""FreeBSD: what bsdprov writes into rc.conf, run by the lab's rc.d fakes, at activation and at
boot (issue 10: cases 1, 4, 5 and 9), and the fakes refusing what FreeBSD's tools refuse.

Each test renders a host with bsdprov, merges its rc.conf into the simulated host's, runs the
deploy's steps (or a boot: rc.d/netif start then rc.d/routing start, from power-on state) and
looks at the live state.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

import pytest

from bsdprov.facts import ObservedFile
from bsdprov.inventory import parse_inventory
from bsdprov.plan import plan_host
from bsdprov.render import file_content, render_host
from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

# The fake hosts of test_fakes.py, under each shell.
shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host

RC = "/etc/rc.conf"
BASE = ("-n", "fbsd1", "freebsd", "vtnet0", "192.0.2.10/24", "192.0.2.1")


def inventory(interfaces: str, routes: str = "[{to: default, via: 192.0.2.1}]") -> str:
    return (
        f"hosts:\n  fbsd1:\n    os: freebsd\n    interfaces: {interfaces}\n    routes: {routes}\n"
    )


def rendered_rc(host: Host, text: str) -> str:
    """The host's rc.conf with bsdprov's keys for the inventory ``text`` merged in."""
    (edit,) = render_host(parse_inventory(text, "inventory.yaml").hosts["fbsd1"]).files
    return file_content(edit, host.path(RC).read_text())


def deploy(host: Host, text: str) -> list[str]:
    """Install bsdprov's rc.conf for ``text`` and run the steps its changes trigger."""
    before = host.path(RC).read_text()
    rendered = render_host(parse_inventory(text, "inventory.yaml").hosts["fbsd1"])
    plan = plan_host(rendered, {RC: ObservedFile(RC, before, 0o644, "root", "wheel")})
    host.write(RC, rendered_rc(host, text))
    ran = []
    for step in plan.steps:
        line = shlex.join(step.argv)
        host.ok(f"{line} >/dev/null 2>&1 || true" if step.may_fail else f"{line} >/dev/null")
        ran.append(line)
    return ran


def boot(host: Host) -> None:
    """Power-on (NICs present, down and bare; no clones, no routes), then rc's network start."""
    for itf in host.path("/var/lab/state/if").iterdir():
        lines = itf.read_text().splitlines()
        kind = next(line.split()[1] for line in lines if line.startswith("type "))
        if kind not in ("ether", "loop"):
            itf.unlink()
            continue
        keep = [ln for ln in lines if ln.split()[0] in ("index", "type")]
        mtu = "16384" if kind == "loop" else "1500"
        extra = ["up 1", "inet6 ::1 128"] if kind == "loop" else ["up 0"]
        lladdr = [] if kind == "loop" else [f"lladdr 52:54:00:00:00:{int(keep[0].split()[1]):02x}"]
        itf.write_text("\n".join([*keep, *extra, f"mtu {mtu}", *lladdr]) + "\n")
    host.path("/var/lab/state/routes").write_text("")
    host.ok("service netif start >/dev/null && service routing start >/dev/null 2>&1 || true")


def state(host: Host, name: str) -> str:
    return host.path(f"/var/lab/state/if/{name}").read_text()


# ---- case 1: a MAC beside a static address ------------------------------------------------------

MAC = "{vtnet0: {addresses: [192.0.2.10/24], mac: '02:00:00:aa:bb:01', mtu: 1450}}"


def test_ifconfig_reads_ether_only_as_the_first_word(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", *BASE)
    res = host.run("ifconfig vtnet0 inet 192.0.2.11 netmask 255.255.255.0 ether 02:00:00:aa:bb:01")
    assert (res.rc, res.err) == (1, "ifconfig: ether: bad value\n")
    assert "192.0.2.11" not in host.ok("ifconfig vtnet0")  # nothing was set
    host.ok("ifconfig vtnet0 ether 02:00:00:aa:bb:01 alias")  # network.subr's ifalias form
    assert "\tether 02:00:00:aa:bb:01\n" in host.ok("ifconfig vtnet0")
    res = host.run("ifconfig vtnet0 ether 02:00:00:aa:bb:01 netmask 255.0.0.0")
    assert res.err == "ifconfig: can't set link-level netmask or broadcast\n"


def test_the_old_mac_line_leaves_the_host_without_its_address(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("freebsd", *BASE)
    old = 'ifconfig_vtnet0="inet 192.0.2.10 netmask 255.255.255.0 ether 02:00:00:aa:bb:01"\n'
    host.write(RC, host.path(RC).read_text() + old)
    boot(host)
    assert "inet 192.0.2.10" not in host.ok("ifconfig vtnet0")


def test_a_mac_with_a_static_address_holds_at_activation_and_at_boot(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("freebsd", *BASE)
    assert deploy(host, inventory(MAC)) == [
        "ifconfig vtnet0 inet6 -accept_rtadv",
        "service netif restart vtnet0",
        "service routing restart",
    ]
    for when in ("activation", "boot"):
        shown = host.ok("ifconfig vtnet0")
        assert "\tether 02:00:00:aa:bb:01\n" in shown, when
        assert "\tinet 192.0.2.10 netmask 0xffffff00 " in shown, when
        assert " mtu 1450\n" in shown, when
        assert "gateway: 192.0.2.1" in host.ok("route -n get default"), when
        boot(host)


# ---- case 5: a vlan's parent restarted ----------------------------------------------------------

BRIDGED = (
    "{{vtnet0: {{addresses: [192.0.2.10/24]}}, vtnet1: {{up: true, mtu: {mtu}}},"
    " vlan10: {{parent: vtnet1, vlan: 10}}, tap0: {{up: true}},"
    " bridge0: {{members: [vlan10, tap0], addresses: [10.10.0.1/24]}}}}"
)


def members(host: Host) -> list[str]:
    return [ln.split()[1] for ln in state(host, "bridge0").splitlines() if ln.startswith("member ")]


def test_a_vlan_parent_change_keeps_the_vlan_in_its_bridge(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", "-x", "vtnet1", *BASE)
    deploy(host, inventory(BRIDGED.format(mtu=1500)))
    boot(host)
    assert sorted(members(host)) == ["tap0", "vlan10"]
    # What a restart of the parent alone does (childif_destroy, then childif_create):
    host.ok("service netif restart vtnet1 >/dev/null")
    assert members(host) == ["tap0"]
    boot(host)
    ran = deploy(host, inventory(BRIDGED.format(mtu=9000)))
    assert ran == [
        "service netif restart vtnet1",
        "service netif restart vlan10",
        "service netif restart bridge0",
        "service routing restart",
    ]
    assert sorted(members(host)) == ["tap0", "vlan10"]
    assert "vnetid 10" in state(host, "vlan10") and "parent vtnet1" in state(host, "vlan10")
    boot(host)
    assert sorted(members(host)) == ["tap0", "vlan10"]


# ---- case 4: a changed gateway beside a DHCP interface -------------------------------------------


def test_a_changed_gateway_beside_dhcp_replaces_the_default(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", "-x", "vtnet1", *BASE)
    interfaces = "{vtnet0: {addresses: [192.0.2.10/24]}, vtnet1: {dhcp: true}}"
    deploy(host, inventory(interfaces))
    assert "gateway: 192.0.2.1\n" in host.ok("route -n get default")
    ran = deploy(host, inventory(interfaces, "[{to: default, via: 192.0.2.254}]"))
    assert ran == ["route -n delete default", "service routing start"]
    assert "gateway: 192.0.2.254\n" in host.ok("route -n get default")
    boot(host)
    assert "gateway: 192.0.2.254\n" in host.ok("route -n get default")


# ---- case 9: ifconfig_DEFAULT does not reach bsdprov's interfaces -----------------------------


@pytest.mark.parametrize("default", ["SYNCDHCP accept_rtadv", "DHCP"])
def test_ifconfig_default_stays_off_managed_interfaces(
    make_host: Callable[..., Host], default: str
) -> None:
    host = make_host("freebsd", "-x", "vtnet1", *BASE)
    host.write(RC, host.path(RC).read_text() + f'ifconfig_DEFAULT="{default}"\n')
    deploy(host, inventory("{vtnet0: {addresses: [192.0.2.10/24]}}"))
    boot(host)
    assert "autoconf" not in state(host, "vtnet0")
    assert "\tinet 192.0.2.10 " in host.ok("ifconfig vtnet0")
    assert "autoconf inet\n" in state(host, "vtnet1")  # the admin's other interface keeps it
    if "accept_rtadv" in default:
        assert "autoconf inet6\n" in state(host, "vtnet1")
        # Without bsdprov's empty ifconfig_vtnet0_ipv6, ifconfig_DEFAULT reaches vtnet0.
        rc = host.path(RC).read_text().replace('ifconfig_vtnet0_ipv6=""\n', "")
        host.write(RC, rc)
        boot(host)
        assert "autoconf inet6\n" in state(host, "vtnet0")


# ---- route(8)'s grammar -----------------------------------------------------------------------


def test_route_refuses_openbsd_words(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", *BASE)
    res = host.run("route add -inet 192.0.2.9 -cloning -link -iface vtnet0")
    assert res.rc == 64
    assert res.err == (
        "route: bad keyword: cloning\nroute: usage: route [-46dnqtv] command [[modifiers] args]\n"
    )
    res = host.run("route -T 0 add default 192.0.2.1")
    assert res.err.startswith("route: illegal option -- T\n")
    assert host.run("route flush -inet -x").err.startswith("route: bad keyword: -x\n")
    host.ok("route -n add -host 192.0.2.9 -interface vtnet0 >/dev/null")


def test_leaving_slaac_at_activation_is_what_a_boot_gives(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", *BASE)
    deploy(host, inventory("{vtnet0: {addresses: [192.0.2.10/24], autoconf6: true}}"))
    assert "autoconf inet6\n" in state(host, "vtnet0")
    ran = deploy(host, inventory("{vtnet0: {addresses: [192.0.2.10/24]}}"))
    assert ran[0] == "ifconfig vtnet0 inet6 -accept_rtadv"
    assert "autoconf" not in state(host, "vtnet0")
    boot(host)
    assert "autoconf" not in state(host, "vtnet0")
