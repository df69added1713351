"""NetBSD on the lab's fakes: netbsd-ifup, rc.d/network at boot, brconfig, dhcpcd (issue 10, 11).

Runs under dash, busybox ash and mksh with the harness of ``test_fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.lab.test_fakes import (  # noqa: F401 # fixtures
    Host,
    _templates,
    _tools,
    make_host,
    shell,
)

IFUP = Path(__file__).parents[2] / "bsdprov/remote/lib/netbsd-ifup"


def ifup(host: Host, name: str) -> str:
    return host.ok(f"BSDPROV_ROOT=$LAB_ROOT sh {IFUP} {name}")


def default_gateway(host: Host) -> str | None:
    res = host.run("route -n get default")
    if res.rc != 0:
        return None
    return next(line.split()[1] for line in res.out.splitlines() if "gateway:" in line)


def test_ifup_without_routes_keeps_the_default_route(make_host: Callable[..., Host]) -> None:
    """Issue 11.3: re-applying the address that carries the default route must not lose it."""
    host = make_host("netbsd")
    host.write(
        "/etc/ifconfig.vioif0",
        "inet 192.0.2.10 netmask 255.255.255.0\ninet 192.0.2.11 netmask 255.255.255.255 alias\n",
    )
    ifup(host, "vioif0")
    assert default_gateway(host) == "192.0.2.1"
    assert host.reachable()
    shown = host.ok("ifconfig vioif0")
    assert "inet 192.0.2.10/24" in shown and "inet 192.0.2.11/32" in shown


def test_ifup_drops_an_alias_the_file_no_longer_sets(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd")
    host.ok("ifconfig vioif0 inet 192.0.2.11 netmask 255.255.255.255 alias")
    host.write("/etc/ifconfig.vioif0", "inet 192.0.2.10 netmask 255.255.255.0\n")
    ifup(host, "vioif0")
    shown = host.ok("ifconfig vioif0")
    assert "192.0.2.11" not in shown and "inet 192.0.2.10/24" in shown
    assert default_gateway(host) == "192.0.2.1"


def test_ifup_puts_back_a_default_route_its_new_address_still_reaches(
    make_host: Callable[..., Host],
) -> None:
    """The primary address changes: the old one goes, and the default comes back through the
    new one, as a host without ``routes:`` never has its routes managed."""
    host = make_host("netbsd")
    host.write("/etc/ifconfig.vioif0", "inet 192.0.2.20 netmask 255.255.255.0\n")
    ifup(host, "vioif0")
    shown = host.ok("ifconfig vioif0")
    assert "192.0.2.10" not in shown and "inet 192.0.2.20/24" in shown
    assert default_gateway(host) == "192.0.2.1"
