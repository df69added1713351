"""Issue 11 item 3, review: a rollback on a NetBSD host without ``routes:`` must bring back the
default route even when the rolled-back activation had already lost it (a renumbered
interface whose new prefix does not reach the old gateway). The rollback re-runs netbsd-ifup on
the old files; at that point no default route exists to remember, so the helper puts back what
the files say a boot would add (rc.conf's defaultroute, or /etc/mygate; rc.d/network).

Runs under dash, busybox ash and mksh with the harness of ``test_fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab import test_fakes_netbsd as netbsd

Host = harness.Host
shell = harness.shell
_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host


def test_the_rollback_of_a_renumbering_brings_the_default_route_back(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("netbsd")
    assert 'defaultroute="192.0.2.1"' in host.path("/etc/rc.conf").read_text()
    old = host.path("/etc/ifconfig.vioif0").read_text()
    host.write("/etc/ifconfig.vioif0", "inet 198.51.100.10 netmask 255.255.255.0\n")
    host.run(f"BSDPROV_ROOT=$LAB_ROOT sh {netbsd.IFUP} vioif0")
    assert netbsd.default_gateway(host) is None, "the new prefix does not reach 192.0.2.1"
    host.write("/etc/ifconfig.vioif0", old)
    netbsd.ifup(host, "vioif0")
    assert netbsd.default_gateway(host) == "192.0.2.1"
    assert host.reachable()


def test_the_defaultroute_step_accepts_the_route_ifup_already_put_back(
    make_host: Callable[..., Host],
) -> None:
    """With `routes:`, `netbsd-ifup defaultroute` runs after the interfaces: the same default
    already there is no failure; another one still is."""
    host = make_host("netbsd")
    assert netbsd.default_gateway(host) == "192.0.2.1"
    netbsd.ifup(host, "defaultroute")
    host.ok("route -q delete default && route -q add default 192.0.2.254")
    res = host.run(f"BSDPROV_ROOT=$LAB_ROOT sh {netbsd.IFUP} defaultroute")
    assert res.rc == 1
