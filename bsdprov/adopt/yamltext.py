"""The imported entry as YAML: printed alone, or merged into an inventory file keeping its
comments, key order and layout (ruamel.yaml's round-trip mode). Pure: text in, text out."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from bsdprov.adopt import Imported, public_entry, public_guests
from bsdprov.adopt.normal import normal_form, normal_vm
from bsdprov.model import FirewallRule, Host, Interface, Route, Vm, VmNic

# Keys in the order the model declares them, so an entry reads like a hand-written one; a
# mapping's kind is told by a key only it has.
ORDERS = (
    ("hypervisor", list(Vm.model_fields)),
    ("switch", list(VmNic.model_fields)),
    ("via", list(Route.model_fields)),
    ("path", ["path", "size", "format"]),
    ("range", ["range", "dns", "domain_name"]),
    ("out", ["from", "out"]),
    ("pf_conf", ["pf_conf", "allow"]),
    ("proto", ["proto", "port", "from"]),
    ("from", ["proto", "port", "from"]),
    ("local", ["local", "remote"]),
    ("os", list(Host.model_fields)),
)

# The keys an import reads from the host: --write replaces them (and removes those the host
# did not give) and keeps every other key of an existing entry (user, become, via, ...).
READ_KEYS = (
    "os",
    "hostname",
    "interfaces",
    "routes",
    "switches",
    "nat",
    "dhcp_server",
    "forwarding",
    "firewall",
)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.preserve_quotes = True
    return yaml


def _ordered(value: dict[str, Any]) -> list[tuple[str, Any]]:
    order = next((keys for key, keys in ORDERS if key in value), list(Interface.model_fields))
    rank = {key: i for i, key in enumerate(order)}
    return sorted(value.items(), key=lambda item: rank.get(item[0], len(rank)))


def _scalar(value: Any) -> Any:
    # Quoted: YAML 1.1 (PyYAML, which loads inventories) reads 12:34:56 as a base-60 number.
    return DoubleQuotedScalarString(value) if isinstance(value, str) and ":" in value else value


def _styled(entry: dict[str, Any]) -> CommentedMap:
    """Block style for the host, flow style for each interface and route (as the example
    inventory is written), so an entry stays short."""
    host = CommentedMap()
    for key, value in _ordered(entry):
        if key == "interfaces":
            interfaces = CommentedMap()
            for name, itf in value.items():
                # One line when it fits, as the example inventory writes them.
                interfaces[name] = _flow(itf) if len(json.dumps(itf)) <= 72 else _block(itf)
            host[key] = interfaces
        elif key == "routes":
            host[key] = CommentedSeq([_flow(r) for r in value])
        elif isinstance(value, dict):
            host[key] = _flow(value) if key in ("forwarding", "switches") else _block(value)
        else:
            host[key] = _block(value)
    return host


def _flow(value: Any) -> Any:
    made = _block(value)
    if isinstance(made, CommentedMap | CommentedSeq):
        made.fa.set_flow_style()
    return made


def _block(value: Any) -> Any:
    if isinstance(value, dict):
        made = CommentedMap()
        for key, item in _ordered(value):
            made[key] = (
                _flow(item) if isinstance(item, list | dict) and key != "disk" else _block(item)
            )
        return made
    if isinstance(value, list):
        return CommentedSeq([_flow(v) if isinstance(v, dict) else _scalar(v) for v in value])
    return _scalar(value)


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def entry_text(imported: Imported) -> str:
    """``hosts:`` with the host's entry and, for a hypervisor, its guests' ``vm:`` keys."""
    hosts = CommentedMap()
    hosts[imported.name] = _styled(public_entry(imported))
    for guest, vm in public_guests(imported).items():
        hosts[guest] = CommentedMap(vm=_block(vm))
    top = CommentedMap(hosts=hosts)
    return _dump(top)


def merged_inventory(text: str, imported: Imported, known: Mapping[str, Host]) -> str:
    """``text`` (an inventory, possibly empty; ``known``: its hosts) with the imported entry
    added, or its read keys replaced; guests get their ``vm:`` key. A host or VM that already
    says the same (in normal form) is left exactly as written, comments included; so is
    every other line."""
    yaml = _yaml()
    data = yaml.load(text) if text.strip() else None
    if data is None:
        data = CommentedMap()
    hosts = data.get("hosts")
    if hosts is None:
        hosts = data["hosts"] = CommentedMap()
    entry = _styled(public_entry(imported))
    current = hosts.get(imported.name)
    old = known.get(imported.name)
    os = str(public_entry(imported)["os"])
    new = Host.model_validate({"name": imported.name, **public_entry(imported)})
    if current is None:
        hosts[imported.name] = entry
    elif old is not None and normal_form(old, os, known) == normal_form(new, os, known):
        pass  # already says what the host runs: left as written
    else:
        for key in READ_KEYS:
            if key not in entry and key in current:
                del current[key]
        for key, value in entry.items():
            if key in READ_KEYS or key not in current:
                current[key] = value
    for guest, vm in public_guests(imported).items():
        if hosts.get(guest) is None:
            hosts[guest] = CommentedMap()
        had = known.get(guest)
        if had is not None and had.vm is not None and _same_vm(had, vm, known):
            continue
        hosts[guest]["vm"] = _block(vm)
    return _dump(data)


def _same_vm(guest: Host, vm: dict[str, Any], known: Mapping[str, Host]) -> bool:
    dumped = Vm.model_validate(vm).model_dump(
        mode="json", exclude_defaults=True, by_alias=True, warnings=False
    )
    dumped.pop("firewall", None)
    if "firewall" in vm:
        dumped["firewall"] = [
            FirewallRule.model_validate(r).model_dump(mode="json", exclude_none=True, by_alias=True)
            for r in vm["firewall"]
        ]
    return normal_vm(guest, known) == dumped
