"""The lab's FreeBSD ifconfig fake adds a bridge member as strictly as FreeBSD's
bridge_ioctl_add (sys/net/if_bridge.c): not twice (EEXIST), not into a second bridge (EBUSY),
and from FreeBSD 15 not with an IP address (EINVAL unless net.link.bridge.member_ifaddrs=1,
bridge(4)), which is what vm-bhyve's `vm init` meets with a port that carries the host's
address. A fake that accepted these would let a lab deploy pass where the host fails."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host


def test_a_member_is_added_once_and_to_one_bridge(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.ok("ifconfig bridge create name vm-a up && ifconfig bridge create name vm-b up")
    host.ok("ifconfig vm-a addm vtnet0")
    again = host.run("ifconfig vm-a addm vtnet0")
    assert again.rc == 1 and "BRDGADD vtnet0: File exists" in again.err
    other = host.run("ifconfig vm-b addm vtnet0")
    assert other.rc == 1 and "BRDGADD vtnet0: Device busy" in other.err
    host.ok("ifconfig vm-a deletem vtnet0 && ifconfig vm-b addm vtnet0")


def test_freebsd_15_refuses_a_member_with_an_address(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.ok("ifconfig vtnet0 inet 192.0.2.10/24 && ifconfig bridge create name vm-a up")
    host.ok("ifconfig vm-a addm vtnet0 && ifconfig vm-a deletem vtnet0")  # 14 allows it
    host.write("/var/lab/release", "15.0-RELEASE\n")
    refused = host.run("ifconfig vm-a addm vtnet0")
    assert refused.rc == 1 and "BRDGADD vtnet0: Invalid argument" in refused.err
    assert "member:" not in host.ok("ifconfig vm-a")
    # The admin's sysctl.conf may turn the old behaviour back on (15's kernel has the name).
    state = host.path("/var/lab/state/sysctl")
    state.write_text(state.read_text() + "net.link.bridge.member_ifaddrs=1\n")
    host.ok("ifconfig vm-a addm vtnet0")


def test_freebsd_15_refuses_an_address_on_a_member(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.ok("ifconfig bridge create name vm-a up && ifconfig vm-a addm vtnet0")
    host.ok("ifconfig vtnet0 inet 192.0.2.10/24 && ifconfig vtnet0 inet 192.0.2.10 -alias")
    host.write("/var/lab/release", "15.0-RELEASE\n")
    refused = host.run("ifconfig vtnet0 inet 192.0.2.10/24")
    assert refused.rc == 1 and "SIOCAIFADDR): Invalid argument" in refused.err
    assert "inet 192.0.2.10" not in host.ok("ifconfig vtnet0")
    host.ok("ifconfig vm-a deletem vtnet0 && ifconfig vtnet0 inet 192.0.2.10/24")
