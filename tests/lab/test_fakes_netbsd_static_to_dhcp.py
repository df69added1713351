"""A NetBSD interface switched from static to `dhcp` must not keep its old static address
until the next boot: rc.d/network at boot gives it only dhcpcd's lease, so activation drops the
IPv4 addresses the file no longer sets (keeping the address of dhcpcd's current lease, from
`dhcpcd -U IF`). Runs under dash, busybox ash and mksh with the harness of ``test_fakes.py``.
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


def test_a_static_address_goes_when_the_interface_turns_to_dhcp(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    host.ok("ifconfig wm1 inet 198.51.100.7 netmask 255.255.255.0")
    host.write("/etc/ifconfig.wm1", "dhcp\n")
    netbsd.ifup(host, "wm1")
    assert "198.51.100.7" not in host.ok("ifconfig wm1")
    assert netbsd.dhcpcd_takes(host, "wm1")
    # As a boot from the same files leaves it.
    host.ok("sh $LAB_ROOT/etc/rc.d/network stop; sh $LAB_ROOT/etc/rc.d/network start")
    assert "198.51.100.7" not in host.ok("ifconfig wm1")
