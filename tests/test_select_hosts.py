"""Which hosts a task acts on: each way of naming none, or too many, gets its own message
(attack on issue 12: '--host a --group g', an empty group and '--all' on an inventory without
hosts all said 'name the hosts', as if nothing had been given)."""

from __future__ import annotations

import pytest

from bsdprov.errors import UsageError
from bsdprov.fleet import select_hosts
from bsdprov.inventory import parse_inventory

INVENTORY = parse_inventory(
    """
groups:
  empty: {hosts: []}
  web: {hosts: [web01]}
hosts:
  web01: {os: openbsd, interfaces: {vio0: {addresses: [192.0.2.10/24]}}}
""",
    "inv.yaml",
)
NO_HOSTS = parse_inventory("hosts: {}\n", "none.yaml")


@pytest.mark.parametrize(
    ("hosts", "group", "everything", "message"),
    [
        ("web01", "web", False, "give one of --host, --group and --all, not --host and --group"),
        (None, "web", True, "give one of --host, --group and --all, not --group and --all"),
        (None, None, False, "name the hosts: --host NAME[,NAME...], --group GROUP or --all"),
        (" , ", None, False, "--host ' , ': name at least one host"),
        (None, "empty", False, "inv.yaml: group 'empty' has no hosts"),
    ],
)
def test_each_wrong_selection_says_what_is_wrong(
    hosts: str | None, group: str | None, everything: bool, message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        select_hosts(INVENTORY, hosts, group, everything)
    assert str(raised.value) == message


def test_all_on_an_inventory_without_hosts_says_so() -> None:
    with pytest.raises(UsageError, match="none.yaml: --all: the inventory has no hosts"):
        select_hosts(NO_HOSTS, None, None, True)


def test_a_right_selection_is_unchanged() -> None:
    assert select_hosts(INVENTORY, "web01", None, False) == ["web01"]
    assert select_hosts(INVENTORY, None, "web", False) == ["web01"]
    assert select_hosts(INVENTORY, None, None, True) == ["web01"]
