"""``bsdprov import``'s parsers are the inverse of the renderers: for every rendered example
(the example inventory, every render spec), parse(render(host)) is the host in normal form."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.adopt import import_host, public_entry, public_guests
from bsdprov.adopt.normal import normal_form, normal_vm
from bsdprov.inventory import Inventory, load_inventory
from bsdprov.model import Host, Vm
from bsdprov.render import file_content, render_host
from tests.specs import SPECS

EXAMPLE = Path(__file__).parent.parent / "inventories" / "example.yaml"
SPEC_FILES = sorted((SPECS / "render").glob("*/*/host.yaml"))


def cases() -> list[tuple[str, Path, str]]:
    found = []
    for path in [EXAMPLE, *SPEC_FILES]:
        inventory = load_inventory(path)
        label = "example" if path == EXAMPLE else str(path.parent.relative_to(SPECS))
        for name, host in inventory.hosts.items():
            if host.os is not None:
                found.append((f"{label}:{name}", path, name))
    return found


CASES = cases()


def rendered_files(inventory: Inventory, host: Host) -> dict[str, str]:
    rendered = render_host(host, guests=inventory.guests(host.name))
    return {spec.path: file_content(spec, None) for spec in rendered.files}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_parse_of_render_is_the_host(case: tuple[str, Path, str]) -> None:
    _, path, name = case
    inventory = load_inventory(path)
    host = inventory.hosts[name]
    assert host.os is not None
    sizes = {g.vm.disk.path: g.vm.disk.size for g in inventory.guests(name)}
    imported = import_host(
        name,
        host.os,
        host.release,
        rendered_files(inventory, host),
        host.address,
        sizes,
        inventory.hosts,
        host.port,
    )
    entry = public_entry(imported)
    back = Host.model_validate({"name": name, **entry})
    assert normal_form(back, host.os) == normal_form(host, host.os, inventory.hosts)
    assert [str(n) for n in imported.notes] == []
    assert imported.rewrites == ()
    guests = {
        g.name: normal_vm(inventory.hosts[g.name], inventory.hosts) for g in inventory.guests(name)
    }
    got = {}
    for g, vm in public_guests(imported).items():
        dumped = Vm.model_validate(vm).model_dump(
            mode="json", exclude_defaults=True, by_alias=True, warnings=False
        )
        dumped.pop("firewall", None)
        if "firewall" in vm:
            dumped["firewall"] = vm["firewall"]
        got[g] = dumped
    assert got == guests
