"""A bhyve switch's host address (addr_NAME) on a network the host already has: FreeBSD keeps
one prefix route per network (the first interface's), so the switch's guests would be routed out
of the other interface, and the same address twice fails at activation: ``check`` refuses."""

from __future__ import annotations

import pytest

from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory

INVENTORY = """
hosts:
  hv:
    os: freebsd
    interfaces: {{em0: {{addresses: [192.0.2.10/24]}}}}
    bhyve:
      vm_dir: /vm
      switches:
        public: {{ports: [em0]}}
        private: {{address: {first}}}
        lab: {{address: {second}}}
"""


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        (
            "192.0.2.1/24",
            "10.0.1.1/24",
            "hosts.hv.bhyve.switches.private.address: 192.0.2.1/24 overlaps interface em0's "
            "192.0.2.10/24",
        ),
        (
            "10.0.0.1/16",
            "10.0.1.1/24",
            "hosts.hv.bhyve.switches.lab.address: 10.0.1.1/24 overlaps switch private's "
            "10.0.0.1/16",
        ),
    ],
)
def test_check_refuses_a_switch_address_on_a_network_the_host_has(
    first: str, second: str, message: str
) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(INVENTORY.format(first=first, second=second), "inv.yaml")
    assert message in str(caught.value)
    assert str(caught.value).count("overlaps") == 1, "one clash, said once"


def test_switches_on_networks_of_their_own_pass() -> None:
    inventory = parse_inventory(
        INVENTORY.format(first="10.0.0.1/24", second="10.0.1.1/24"), "inv.yaml"
    )
    assert inventory.hosts["hv"].bhyve is not None
