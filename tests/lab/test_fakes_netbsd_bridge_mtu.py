"""NetBSD bridges and MTUs: vlan_config (sys/net/if_vlan.c) gives a vlan its parent's MTU and
bridge_ioctl_add (sys/net/if_bridge.c) refuses a member whose MTU is not the bridge's (EINVAL).
A jumbo parent's vlan must be given the bridge's MTU before `brconfig add`, at boot too.

Runs under dash, busybox ash and mksh with the harness of ``test_fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory
from tests.lab import test_fakes as harness
from tests.lab import test_fakes_netbsd as netbsd

Host = harness.Host
shell = harness.shell
_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host

JUMBO_VLAN_BRIDGED = """
hosts:
  nb:
    os: netbsd
    interfaces:
      vioif0: {addresses: [192.0.2.10/24]}
      wm1: {mtu: 9000}
      vlan10: {parent: wm1, vlan: 10%s}
      bridge0: {members: [vlan10]}
    routes: [{to: default, via: 192.0.2.1}]
"""


def test_the_fake_vlan_takes_its_parents_mtu_and_brconfig_refuses_it(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    host.ok("ifconfig wm1 mtu 9000 && ifconfig vlan10 create && ifconfig vlan10 vlan 10 vlanif wm1")
    assert " mtu 9000" in host.ok("ifconfig vlan10")
    host.ok("ifconfig bridge0 create")
    assert host.run("brconfig bridge0 add vlan10").err == "brconfig: add vlan10: Invalid argument\n"


def test_a_member_whose_mtu_differs_from_the_bridges_is_refused_naming_both() -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(JUMBO_VLAN_BRIDGED % "", "inventory.yaml")
    assert str(caught.value) == (
        "inventory.yaml:9: hosts.nb.interfaces.bridge0.members: vlan10's MTU is 9000 but "
        "bridge0's is 1500, and NetBSD's bridge refuses a member whose MTU differs "
        "(bridge_ioctl_add: EINVAL); give vlan10 'mtu: 1500' (a vlan takes its parent's MTU)"
    )


def test_a_jumbo_parents_vlan_stays_in_its_bridge_after_a_boot(
    make_host: Callable[..., Host],
) -> None:
    """ifconfig -C runs bridge0's file before vlan10's: the bridge's file sets the MTU first."""
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    netbsd.install_rendered(host, JUMBO_VLAN_BRIDGED % ", mtu: 1500")
    booted = netbsd.boot_network(host)
    assert booted.rc == 0, booted.err
    assert "\t\tvlan10 flags=3<LEARNING,DISCOVER>\n" in host.ok("brconfig bridge0")
    assert " mtu 1500" in host.ok("ifconfig vlan10")
