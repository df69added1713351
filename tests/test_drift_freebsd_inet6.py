"""FreeBSD's netif restart keeps the inet6 addresses of an interface rc.conf gives no IPv6
(network.subr ipv6_down returns early when ipv6if is false): a hand-added inet6 alias there was
drift that every deploy "repaired" by a restart that left it, so every plan reported it again.
The repair deletes it by name first (attack on issue 13)."""

from __future__ import annotations

from bsdprov.drift import Output, compare, expected_live
from bsdprov.render import render_host
from tests.test_drift import applied, host


def drift_with(interface: str, line: str) -> list[tuple[str, list[str]]]:
    outputs = applied("freebsd")
    before = outputs[("ifconfig", interface)]
    outputs[("ifconfig", interface)] = Output((*before.lines, line), 0)
    h = host("freebsd")
    found = compare(expected_live(h, render_host(h)), outputs)
    return [(d.what, [" ".join(s.argv) for s in d.steps]) for d in found]


def test_an_inet6_alias_on_an_interface_without_ipv6_is_deleted_by_name() -> None:
    found = drift_with("vtnet1", "\tinet6 2001:db8:7::7 prefixlen 64")
    assert found == [
        (
            "address 2001:db8:7::7 on vtnet1 not in the files",
            ["ifconfig vtnet1 inet6 2001:db8:7::7 -alias"],
        )
    ]


def test_where_the_restart_removes_it_nothing_is_added() -> None:
    # vtnet0 declares IPv6, so ipv6_down deletes every inet6 address; ipv4_down every inet one.
    assert drift_with("vtnet0", "\tinet6 2001:db8:7::7 prefixlen 64") == [
        ("address 2001:db8:7::7 on vtnet0 not in the files", [])
    ]
    assert drift_with("vtnet1", "\tinet 198.51.100.7 netmask 0xffffffff") == [
        ("address 198.51.100.7 on vtnet1 not in the files", [])
    ]
