"""previous_address against hostile inventories (issue 13's management-address move)."""

from __future__ import annotations

import pytest

from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory


def _problems(text: str) -> str:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, "inv.yaml")
    return str(caught.value)


def test_a_previous_address_that_is_another_hosts_address_is_refused() -> None:
    """web01 moved from .10 long ago and .10 now belongs to web02: when web01's address does
    not answer, bsdprov would connect to web02 (its key is known there) and apply web01's
    network to it; only the confirmation timer would put web02 back."""
    message = _problems(
        """
hosts:
  web01: {os: openbsd, address: 192.0.2.20, previous_address: 192.0.2.10}
  web02: {os: openbsd, address: 192.0.2.10}
"""
    )
    assert "hosts.web01.previous_address" in message
    assert "web02" in message and "192.0.2.10" in message


def test_a_previous_address_equal_to_address_is_refused() -> None:
    message = _problems(
        """
hosts:
  web01: {os: openbsd, address: 192.0.2.10, previous_address: 192.0.2.10}
"""
    )
    assert "hosts.web01.previous_address" in message and "is 'address' itself" in message


def test_hosts_sharing_an_address_on_other_ports_may_name_it_as_previous() -> None:
    """The lab's hosts all answer on 127.0.0.1, each on its own port."""
    inventory = parse_inventory(
        """
hosts:
  a: {os: openbsd, address: 127.0.0.2, previous_address: 127.0.0.1, port: 2201}
  b: {os: openbsd, address: 127.0.0.1, port: 2202}
""",
        "inv.yaml",
    )
    assert inventory.hosts["a"].previous_address == "127.0.0.1"
