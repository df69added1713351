"""OpenBSD's fakes as a specification of the real tools (issue 10): ifconfig and route refuse
what OpenBSD's refuse (ifconfig.c's cmds[] and main(), route.c's newroute()), route's on-link
rule for both families, netstart's boot order with no arguments, and the receive sysctls.

Uses the harness of ``test_fakes.py`` (a host root per test, run under dash, busybox ash and
mksh).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

# The harness's fixtures, used by name in this module.
_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host
shell = harness.shell

USAGE = "usage: route [-dnqtv] [-T rtable] command [[modifiers] args]\n"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        # FreeBSD's family word and bridge keywords are no keywords here: addresses, then bad.
        ("ifconfig vio0 ether 02:00:00:00:00:01", "ifconfig: ether: bad value\n"),
        ("ifconfig vio0 link 02:00:00:00:00:01", "ifconfig: link: bad value\n"),
        ("ifconfig bridge0 addm vio0", "ifconfig: addm: bad value\n"),
        ("ifconfig bridge0 deletem vio0", "ifconfig: deletem: bad value\n"),
        # A family is read only as the first word after the name (ifconfig.c main()).
        ("ifconfig vio0 mtu 1400 inet 192.0.2.9", "ifconfig: inet: bad value\n"),
        # ... and "create" is special-cased after it: a family after "create" is an address.
        ("ifconfig vether0 create inet 10.50.0.1/24", "ifconfig: inet: bad value\n"),
        # NetBSD's vlan parent keyword and FreeBSD's tunnel removal.
        ("ifconfig vlan5 vlan 5 vlanif vio0", "ifconfig: vlanif: bad value\n"),
        ("ifconfig gif0 deletetunnel", "ifconfig: deletetunnel: bad value\n"),
        ("ifconfig vio0 -txcsum", "ifconfig: -txcsum: bad value\n"),
        # Three addresses: the third has no slot (setifaddr, setifdstaddr, then "bad value").
        ("ifconfig vio0 192.0.2.9 192.0.2.10 192.0.2.11", "ifconfig: 192.0.2.11: bad value\n"),
        ("ifconfig vio0 mtu", "ifconfig: 'mtu' requires argument\n"),
        ("ifconfig gif0 tunnel 192.0.2.10", "ifconfig: 'tunnel' requires 2 arguments\n"),
    ],
)
def test_openbsd_ifconfig_refuses_what_ifconfig_c_refuses(
    make_host: Callable[..., Host], command: str, message: str
) -> None:
    host = make_host("openbsd")
    before = host.ok("ifconfig -a")
    res = host.run(command)
    assert (res.rc, res.err) == (1, message)
    assert host.ok("ifconfig -a") == before  # refused before anything changed


def test_openbsd_ifconfig_takes_what_netstart_and_bsdprov_write(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd")
    host.ok(
        "ifconfig vio0 inet -autoconf; ifconfig vio0 inet6 -autoconf; ifconfig vio0 -inet6;"
        " ifconfig vio0 inet 192.0.2.10 netmask 255.255.255.0 broadcast 192.0.2.255;"
        " ifconfig vio0 inet alias 192.0.2.11 netmask 255.255.255.255;"
        " ifconfig vio0 inet6 2001:db8::10 prefixlen 64; ifconfig vio0 lladdr 02:00:00:00:00:10;"
        ' ifconfig vio0 mtu 1500 description "up link"; ifconfig vlan10 vnetid 10 parent vio0;'
        " ifconfig vlan11 vlan 11 vlandev vio0; ifconfig bridge0 create add vlan10 up;"
        " ifconfig gif0 tunnel 192.0.2.10 198.51.100.200; ifconfig gif0 inet6 2001:db8:1::2"
        " 2001:db8:1::1 prefixlen 128; ifconfig vio0 media autoselect up; ifconfig lo0 inet"
        " 127.0.0.1/8; ifconfig tap0 create group web01_vm; ifconfig bridge0 del vlan10"
    )
    assert "\tinet6 2001:db8:1::2 --> 2001:db8:1::1 prefixlen 128\n" in host.ok("ifconfig gif0")


@pytest.mark.parametrize(
    ("command", "first_line"),
    [
        ("route -4 add default 192.0.2.1", "route: unknown option -- 4\n"),
        ("route add -fib 1 default 192.0.2.1", "route: botched keyword: fib\n"),
        ("route add default 192.0.2.1 -weight 2", "route: botched keyword: weight\n"),
        ("route add -net 10.0.0.0/8 192.0.2.1 -noreject", "route: botched keyword: noreject\n"),
        ("route add -host 10.0.0.1 192.0.2.1 -proxy", "route: botched keyword: proxy\n"),
        ("route replace default 192.0.2.1", "route: botched keyword: replace\n"),
    ],
)
def test_openbsd_route_refuses_what_route_c_refuses(
    make_host: Callable[..., Host], command: str, first_line: str
) -> None:
    host = make_host("openbsd")
    before = host.ok("netstat -rn")
    res = host.run(command)
    assert (res.rc, res.err) == (1, first_line + USAGE)
    assert host.ok("netstat -rn") == before


def test_route_gateway_is_on_a_connected_prefix_or_a_peer(
    make_host: Callable[..., Host],
) -> None:
    """The on-link rule, both families: a gateway must sit in a connected prefix or be the
    peer of a point-to-point address; a point-to-point link has no prefix, only its peer."""
    host = make_host("openbsd")
    host.ok("route -qn delete default")
    unreachable = "route: writing to routing socket: Network is unreachable\n"
    host.ok("ifconfig vio0 inet6 2001:db8:10::10 prefixlen 64")
    host.ok("ifconfig gif0 tunnel 192.0.2.10 198.51.100.200")
    host.ok("ifconfig gif0 inet6 2001:db8:1::2 2001:db8:1::1 prefixlen 128")
    host.ok("ifconfig gre0 inet 10.255.0.2 10.255.0.1 netmask 255.255.255.252")
    # Not on link: outside every prefix, or inside the /30 of a point-to-point address.
    for gateway in ("-inet6 default 2001:db8:20::1", "-inet6 default 2001:db8:1::3"):
        assert host.run(f"route add {gateway}").err == unreachable, gateway
    assert host.run("route add -inet 10.9.0.0/16 10.255.0.3").err == unreachable
    # On link: a connected prefix, or the peer.
    host.ok("route add -inet6 2001:db8:30::/48 2001:db8:10::1")
    host.ok("route add -inet6 default 2001:db8:1::1")
    host.ok("route add -inet 10.9.0.0/16 10.255.0.1")
    assert "  interface: gif0\n" in host.ok("route -n get -inet6 default")
    assert "  interface: gre0\n" in host.ok("route -n get 10.9.1.1")


TUNNEL_EM0 = "inet 192.0.2.10 255.255.255.0\n"
TUNNEL_GIF0 = "tunnel 192.0.2.10 198.51.100.200\ninet6 2001:db8:1::2 128\ndest 2001:db8:1::1\n"


def power_on(host: Host) -> None:
    """The tunnel host's network as the kernel has it before netstart: no addresses, no
    routes, no cloned interfaces."""
    host.ok(
        "route -qn flush; route -qn flush -inet6; ifconfig gif0 destroy;"
        " ifconfig vio0 -inet; ifconfig vio0 -inet6; ifconfig lo0 -inet; ifconfig lo0 -inet6"
    )


@pytest.mark.parametrize(
    ("gif0", "mygate", "has_v6_default"),
    [
        # bsdprov before issue 10: the tunnel's peer in mygate, which boot reads too early.
        (TUNNEL_GIF0, "192.0.2.1\n2001:db8:1::1\n", False),
        # bsdprov now: mygate keeps what boot can reach, the tunnel's file adds its default.
        (TUNNEL_GIF0 + "!route -qn add -inet6 default 2001:db8:1::1\n", "192.0.2.1\n", True),
    ],
)
def test_netstart_boot_adds_tunnel_defaults_only_from_the_tunnel_file(
    make_host: Callable[..., Host], gif0: str, mygate: str, has_v6_default: bool
) -> None:
    host = make_host("openbsd", "-n", "tunnel", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
    host.write("/etc/hostname.vio0", TUNNEL_EM0, 0o640)
    host.write("/etc/hostname.gif0", gif0, 0o640)
    host.write("/etc/mygate", mygate)
    power_on(host)
    host.ok("sh $LAB_ROOT/etc/netstart")
    assert "gateway: 192.0.2.1\n" in host.ok("route -n get default")
    assert (host.run("route -n get -inet6 default").rc == 0) is has_v6_default


def test_netstart_boot_order_is_netstart_1_229s(make_host: Callable[..., Host]) -> None:
    """No arguments: create every pseudo-interface, then every type but the delayed ones,
    then vlan/trunk types, then mygate, then the types that rely on routing."""
    host = make_host("openbsd")
    for name, text in {
        "vio0": TUNNEL_EM0,
        "bridge0": "add vlan10\nup\n",
        "vlan10": "vnetid 10 parent vio0\nup\n",
        "vether0": "inet 10.50.0.1 255.255.255.0\n",
        "gif0": TUNNEL_GIF0 + "!route -qn add -inet6 default 2001:db8:1::1\n",
        "gre0": "tunnel 192.0.2.10 198.51.100.9\n",
        "wg0": "up\n",
    }.items():
        host.write(f"/etc/hostname.{name}", text, 0o640)
    host.write("/etc/mygate", "192.0.2.1\n")
    lines = host.ok("sh $LAB_ROOT/etc/netstart -n").splitlines()
    order = [
        "{ ifconfig bridge0 || ifconfig bridge0 create; }",
        "ifconfig bridge0 add vlan10",
        "ifconfig vether0 inet 10.50.0.1 netmask 255.255.255.0",
        "ifconfig vio0 inet 192.0.2.10 netmask 255.255.255.0",
        "ifconfig vlan10 vnetid 10 parent vio0",
        "route -qn add -host default 192.0.2.1",
        "route -qn add -net 127 127.0.0.1 -reject",
        "ifconfig gif0 tunnel 192.0.2.10 198.51.100.200",
        "route -qn add -inet6 default 2001:db8:1::1",
        "ifconfig gre0 tunnel 192.0.2.10 198.51.100.9",
        "ifconfig wg0 up",
    ]
    assert [lines.index(line) for line in order] == sorted(lines.index(line) for line in order)


def test_openbsd_tunnel_receive_sysctls_default_off(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    assert host.ok("sysctl net.inet.gre.allow net.inet.etherip.allow") == (
        "net.inet.gre.allow=0\nnet.inet.etherip.allow=0\n"
    )
    host.write("/etc/sysctl.conf", "net.inet.gre.allow=1\n")
    apply = Path(__file__).parents[2] / "bsdprov/remote/lib/sysctl-apply"
    host.ok(f"BSDPROV_ROOT=$LAB_ROOT sh {apply} net.inet.gre.allow=0 net.inet.etherip.allow=0")
    assert host.ok("sysctl -n net.inet.gre.allow net.inet.etherip.allow") == "1\n0\n"


def test_netstart_boot_reads_multicast_as_rc_subr_does(make_host: Callable[..., Host]) -> None:
    """rc.conf says multicast=NO; rc.conf.local's value wins, its quotes stripped."""
    host = make_host("openbsd")
    assert "route -qn delete 224.0.0.0/4" in host.ok("sh $LAB_ROOT/etc/netstart -n")
    host.write("/etc/rc.conf.local", 'multicast="YES"\n')
    assert "224.0.0.0/4" not in host.ok("sh $LAB_ROOT/etc/netstart -n")
