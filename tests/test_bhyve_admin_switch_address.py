"""A switch the admin already gave a host address (vm-bhyve's addr_NAME, which puts it on the
bridge: where FreeBSD 15 wants a bridged uplink's address), declared in the inventory without
one: bsdprov would drop the key and bhyve-apply would take the address off the live bridge,
maybe the one the SSH session uses. The plan refuses, naming file, key and value."""

from __future__ import annotations

import pytest

from bsdprov.errors import RenderError
from bsdprov.inventory import parse_inventory
from bsdprov.plan import ObservedFile, PlanOptions, plan_host
from bsdprov.render import Rendered, render_host

INVENTORY = """
hosts:
  hv:
    os: freebsd
    interfaces: {{em0: {{}}}}
    bhyve:
      vm_dir: /vm
      switches:
        public: {{ports: [em0]{address}}}
"""
SYSTEM_CONF = (
    'switch_list="public"\ntype_public="standard"\nports_public="em0"\n'
    'addr_public="192.0.2.10/24"\n'
)


def render(address: str = "") -> Rendered:
    inventory = parse_inventory(INVENTORY.format(address=address), "inv.yaml")
    return render_host(inventory.hosts["hv"])


def observed(record: str | None) -> dict[str, ObservedFile]:
    found = {"/vm/.config/system.conf": ObservedFile("/vm/.config/system.conf", SYSTEM_CONF)}
    if record is not None:
        path = "/vm/.config/bsdprov-switches"
        found[path] = ObservedFile(path, record)
    return found


def test_the_admins_switch_address_is_not_dropped() -> None:
    with pytest.raises(RenderError) as caught:
        plan_host(render(), observed(None), options=PlanOptions())
    assert str(caught.value).startswith(
        "/vm/.config/system.conf: addr_public='192.0.2.10/24' puts a host address on switch "
        "'public', which the inventory does not: add 'bhyve.switches.public.address: "
        "192.0.2.10/24'"
    )


def test_declared_the_address_stays() -> None:
    plan = plan_host(render(", address: 192.0.2.10/24"), observed(None), options=PlanOptions())
    after = {c.path: c.after for c in plan.changes}
    assert 'addr_public="192.0.2.10/24"' in (after.get("/vm/.config/system.conf") or SYSTEM_CONF)


def test_an_address_bsdprov_declared_before_is_dropped_as_asked() -> None:
    plan = plan_host(render(), observed("# managed\npublic\n"), options=PlanOptions())
    after = {c.path: c.after for c in plan.changes}
    assert "addr_public" not in (after["/vm/.config/system.conf"] or "")
