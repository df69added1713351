"""FreeBSD activation does what the host does at boot (issue 10: cases 1, 4, 5 and 9).

Each test plans a one-key change against a host whose rc.conf is exactly what bsdprov
renders, and checks the steps a deploy would run; the render specs under
``tests/specs/render/freebsd/`` hold the full files.
"""

from __future__ import annotations

from pathlib import Path

from bsdprov.facts import ObservedFile
from bsdprov.inventory import load_inventory
from bsdprov.model import Host
from bsdprov.plan import plan_host
from bsdprov.render import file_content, render_host

SPECS = Path(__file__).parent / "specs" / "render" / "freebsd"
RC = "/etc/rc.conf"


def spec_host(case: str) -> Host:
    return next(iter(load_inventory(SPECS / case / "host.yaml").hosts.values()))


def steps_after(host: Host, old: str, new: str) -> list[str]:
    """The steps a deploy runs when the host's rc.conf differs from bsdprov's only in that
    ``new`` reads ``old`` there."""
    (edit,) = render_host(host).files
    applied = file_content(edit)
    assert new in applied, new
    before = applied.replace(new, old)
    plan = plan_host(render_host(host), {RC: ObservedFile(RC, before, 0o644, "root", "wheel")})
    return [" ".join(step.argv) for step in plan.steps]


def test_a_vlan_parent_restart_restarts_its_vlans_and_their_bridge() -> None:
    """netif restart igb1 destroys vlan10 and vlan20 and makes them again outside bridge0."""
    host = spec_host("vlan_parent_restart")
    assert steps_after(host, 'ifconfig_igb1="mtu 1500 up"', 'ifconfig_igb1="mtu 9000 up"') == [
        "service netif restart igb1",
        "service netif restart vlan10",
        "service netif restart vlan20",
        "service netif restart bridge0",
        "service routing restart",
    ]


def test_a_cloned_member_restart_restarts_its_bridge() -> None:
    """netif restart tap0 destroys tap0 (cloned_interfaces), which leaves bridge0."""
    host = spec_host("vlan_parent_restart")
    assert steps_after(host, 'ifconfig_tap0="down"', 'ifconfig_tap0="up"') == [
        "service netif restart tap0",
        "service netif restart bridge0",
        "service routing restart",
    ]


def test_a_vlan_outside_any_bridge_restarts_alone() -> None:
    host = spec_host("vlan_parent_restart")
    old = 'ifconfig_vlan20="inet 10.20.0.9 netmask 255.255.255.0"'
    new = 'ifconfig_vlan20="inet 10.20.0.1 netmask 255.255.255.0"'
    assert steps_after(host, old, new) == [
        "service netif restart vlan20",
        "service routing restart",
    ]


def test_a_changed_gateway_beside_dhcp_deletes_the_old_default_first() -> None:
    """routing start's `route add default NEW` fails with "File exists" while OLD is there."""
    host = spec_host("gateway_change_beside_dhcp")
    old, new = 'defaultrouter="203.0.113.1"', 'defaultrouter="203.0.113.254"'
    assert steps_after(host, old, new) == ["route -n delete default", "service routing start"]


def test_a_changed_static_route_beside_dhcp_deletes_the_old_one_first() -> None:
    host = spec_host("gateway_change_beside_dhcp")
    old = 'route_bsdprov_net0="-net 10.0.0.0/8 203.0.113.8"'
    new = 'route_bsdprov_net0="-net 10.0.0.0/8 203.0.113.9"'
    assert steps_after(host, old, new) == [
        "route -n delete -net 10.0.0.0/8",
        "service routing start",
    ]


def test_a_mac_is_set_by_its_own_ether_alias() -> None:
    """FreeBSD's ifconfig reads `ether` as a family only as its first word."""
    (edit,) = render_host(spec_host("mac_static")).files
    text = file_content(edit)
    assert 'ifconfig_vtnet0_alias1="ether 02:00:00:aa:bb:01"\n' in text
    assert "ether" not in text.split('ifconfig_vtnet0="')[1].split('"')[0]


def test_ifconfig_default_never_reaches_a_managed_interface() -> None:
    """An unset ifconfig_IF_ipv6 reads ifconfig_DEFAULT: bsdprov sets it, empty."""
    current = 'ifconfig_DEFAULT="SYNCDHCP accept_rtadv"\nipv4_addrs_vtnet0="192.0.2.77/32"\n'
    (edit,) = render_host(spec_host("ifconfig_default_dhcp")).files
    text = file_content(edit, current)
    assert 'ifconfig_vtnet0_ipv6=""\n' in text
    assert 'ifconfig_DEFAULT="SYNCDHCP accept_rtadv"\n' in text  # the admin's other interfaces
    assert "ipv4_addrs_vtnet0" not in text  # a legacy key that would add an address at boot


def test_leaving_slaac_clears_accept_rtadv_before_the_restart() -> None:
    """ipv6_down reads the new rc.conf, which no longer says accept_rtadv: the flag would stay."""
    host = spec_host("ifconfig_default_dhcp")
    old, new = 'ifconfig_vtnet0_ipv6="inet6 accept_rtadv"', 'ifconfig_vtnet0_ipv6=""'
    assert steps_after(host, old, new) == [
        "ifconfig vtnet0 inet6 -accept_rtadv",
        "service netif restart vtnet0",
        "service routing restart",
    ]
