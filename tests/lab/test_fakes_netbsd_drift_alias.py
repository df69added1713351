"""A hand-added IPv4 alias on a NetBSD interface whose file sets no IPv4 address is live drift
(a boot from the same files leaves the interface without it), so re-applying the file, which
is how a deploy repairs that drift, must take it away; otherwise the drift is reported and
"repaired" on every deploy, never fixed. Harness of ``test_fakes.py``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.lab import test_fakes as harness
from tests.lab import test_fakes_netbsd as netbsd

Host = harness.Host
shell = harness.shell
_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host


@pytest.mark.parametrize(
    "config", ["inet6 2001:db8::5 prefixlen 64 alias\nup\n", "up\n"], ids=["ipv6-only", "up-only"]
)
def test_reapplying_a_file_without_ipv4_drops_a_hand_added_ipv4_alias(
    make_host: Callable[..., Host], config: str
) -> None:
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    host.write("/etc/ifconfig.wm1", config)
    netbsd.ifup(host, "wm1")
    host.ok("ifconfig wm1 inet 198.51.100.7 netmask 255.255.255.0 alias")
    netbsd.ifup(host, "wm1")
    assert "198.51.100.7" not in host.ok("ifconfig wm1")
    # As a boot from the same files leaves it.
    host.ok("sh $LAB_ROOT/etc/rc.d/network stop; sh $LAB_ROOT/etc/rc.d/network start")
    assert "198.51.100.7" not in host.ok("ifconfig wm1")
