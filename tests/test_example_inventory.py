"""The shipped example inventory loads, renders, and holds scenario (a) exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.inventory import load_inventory
from bsdprov.render import render_host
from tests.specs import SPECS, read_tree, rendered_tree

EXAMPLE = Path(__file__).parent.parent / "inventories" / "example.yaml"
INVENTORY = load_inventory(EXAMPLE)


def test_example_covers_every_os_and_the_documented_cases() -> None:
    hosts = INVENTORY.hosts.values()
    assert {h.os for h in hosts} == {"freebsd", "openbsd", "netbsd"}
    assert any(i.tunnel for h in hosts for i in h.interfaces.values()), "a 6in4 tunnel"
    assert any(i.dhcp for h in hosts for i in h.interfaces.values()), "a DHCP guest"
    assert any(i.members for h in hosts for i in h.interfaces.values()), "hypervisor bridges"


@pytest.mark.parametrize("name", list(INVENTORY.hosts))
def test_every_example_host_renders(name: str) -> None:
    rendered = render_host(INVENTORY.hosts[name])
    assert rendered.files and rendered.steps


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("obsd1", "openbsd/failover_32"),
        ("fbsd1", "freebsd/failover_32"),
        ("nbsd1", "netbsd/failover_32"),
    ],
)
def test_failover_guests_match_the_scenario_goldens(name: str, spec: str) -> None:
    case = SPECS / "render" / spec
    tree = rendered_tree(render_host(INVENTORY.hosts[name]), case / "current")
    assert tree == read_tree(case / "expected")
