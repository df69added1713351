"""One host's entry from its files: parse with the OS's parser (and the vmd parser on a
hypervisor), settle what the routes need, and validate, leaving what does not validate
unmanaged with a ``Note``. Pure."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from bsdprov.adopt.common import Entry, Note, Parsed
from bsdprov.adopt.freebsd import parse_freebsd
from bsdprov.adopt.netbsd import parse_netbsd
from bsdprov.adopt.openbsd import parse_openbsd
from bsdprov.adopt.vmd import VMD_PATHS, parse_hypervisor
from bsdprov.errors import UsageError
from bsdprov.inventory import check_host
from bsdprov.model import (
    Host,
    Interface,
    Route,
    connected_interface,
    is_link_local,
    route_interface,
)
from bsdprov.render.base import ordered_interfaces
from bsdprov.render.hypervisor import SYSCTL_CONF

PARSERS: dict[str, Callable[[dict[str, str]], Parsed]] = {
    "openbsd": parse_openbsd,
    "freebsd": parse_freebsd,
    "netbsd": parse_netbsd,
}


def build_entry(
    name: str,
    os: str,
    texts: dict[str, str],
    address: str | None,
    port: int,
    sizes: dict[str, str],
    vmd: bool = True,
) -> tuple[Host, Entry, dict[str, Entry], list[Note]]:
    """Parse ``texts`` into the validated host, its entry, its guests' VMs and the notes
    (``vmd`` False: a hypervisor's vmd part is left out, only forwarding is read)."""
    parsed = PARSERS[os](texts)
    notes = list(parsed.notes)
    _settle_links(parsed, notes)
    entry: Entry = {}
    if address:
        entry["address"] = address
    if port != 22:
        entry["port"] = port
    entry["os"] = os
    if parsed.hostname:
        entry["hostname"] = parsed.hostname
    # In the order the OS configures them (physical, cloned, bridges, tunnels).
    order = {
        n: i
        for i, (n, _) in enumerate(
            ordered_interfaces(
                Host(name=name, interfaces={k: Interface() for k in parsed.interfaces})
            )
        )
    }
    entry["interfaces"] = dict(sorted(parsed.interfaces.items(), key=lambda item: order[item[0]]))
    # FreeBSD and NetBSD write nothing for "routes: []": no routes reads back as unmanaged.
    if parsed.routes or (parsed.routes is not None and os == "openbsd"):
        entry["routes"] = parsed.routes
    guests: dict[str, Entry] = {}
    if os == "openbsd" and any(p in texts for p in VMD_PATHS):
        parts = parse_hypervisor(
            name, texts if vmd else _without_vmd(texts), sizes, entry["interfaces"]
        )
        notes += parts.notes
        entry.update(parts.keys)
        guests = parts.guests
    host = _validated(name, entry, notes)
    redundant = _settle_route_interfaces(host, entry)
    for interface, (path, line, text) in dict(redundant).items():
        # The line stays only if its file does: the interface's (OpenBSD, NetBSD), else rc.conf's
        # routes.
        keeps = interface if path != "/etc/rc.conf" else "routes"
        notes.append(
            Note(
                path,
                line,
                text,
                f"routes to a gateway on the subnet: not modelled, {keeps} left unmanaged",
            )
        )
        if keeps == "routes":
            entry.pop("routes", None)
        else:
            entry["interfaces"].pop(interface, None)
        host = _validated(name, entry, notes)
        if "routes" in entry:
            _settle_route_interfaces(host, entry)
    if "routes" not in entry:
        # Those lines are written from routes: without routes a deploy would drop them.
        for interface in sorted(parsed.route_lines & set(entry["interfaces"])):
            _unmanage(entry, notes, interface, "its file adds routes, and routes are unmanaged")
        host = _validated(name, entry, notes)
    if "routes" in entry:
        entry["routes"].sort(key=lambda r: (":" in r["via"], r["to"] != "default"))
    return _validated(name, entry, notes), entry, guests, notes


def _without_vmd(texts: dict[str, str]) -> dict[str, str]:
    return {p: t for p, t in texts.items() if p == SYSCTL_CONF}


def _settle_links(parsed: Parsed, notes: list[Note]) -> None:
    """A line adding a host route to an onlink gateway marks the routes through it."""
    routes = parsed.routes or []
    for link in [r for r in routes if r.get("_link")]:
        routes.remove(link)
        users = [r for r in routes if r["via"] == link["via"]]
        if not users:
            path, line, text = link.get("_where") or ("", None, "")
            notes.append(
                Note(
                    path,
                    line,
                    text,
                    f"adds a route to {link['via']} that no other route uses: not modelled, "
                    f"{link['interface']} is left unmanaged",
                )
            )
            parsed.interfaces.pop(link["interface"], None)
            parsed.unmanaged.add(link["interface"])
        for route in users:
            route["onlink"] = True
            route.setdefault("interface", link["interface"])
            route["_link"] = (link["interface"], link.get("_where"))


def _settle_route_interfaces(
    host: Host, entry: Entry
) -> list[tuple[str, tuple[str, int | None, str]]]:
    """Keep a route's ``interface`` only where the model needs it to find the interface.

    Returns the interface routes to gateways already on a subnet (with where each was
    written): bsdprov writes such a route only for a gateway outside every subnet, so the
    model cannot keep it.
    """
    redundant = []
    for route in entry.get("routes", []):
        link = route.pop("_link", None)
        found_on = route.pop("_found_on", None) or route.get("interface")
        via = ipaddress.ip_address(route["via"])
        if is_link_local(via) or found_on is None:
            continue
        bare = {k: v for k, v in clean(route).items() if k != "interface"}
        candidate = Route.model_validate(bare)
        connected = connected_interface(host, candidate)
        if connected is not None:
            route.pop("onlink", None)
            if link is not None:
                redundant.append(link)
        if route_interface(host, candidate) == found_on:
            route.pop("interface", None)
        else:
            route["interface"] = found_on
    return redundant


def _validated(name: str, entry: Entry, notes: list[Note]) -> Host:
    """The entry as a host. What does not validate is left unmanaged, with a note: an
    interface (and then whatever names it), the host name, else the routes; anything else
    stops the import."""
    for itf_name, itf in list(entry["interfaces"].items()):
        problem = _invalid(Interface, itf)
        if problem:
            _unmanage(entry, notes, itf_name, f"it does not validate ({problem})")
    if "hostname" in entry and _invalid(Host, {"name": name, "hostname": entry["hostname"]}):
        notes.append(
            Note(
                "",
                None,
                f"hostname {entry.pop('hostname')}",
                "is not a valid host name: left unmanaged",
            )
        )
    if "routes" in entry and _invalid(Host, {"name": name, "routes": clean(entry["routes"])}):
        _unmanage_routes(entry, notes, "a route does not validate")
    try:
        host = Host.model_validate({"name": name, **clean(entry)})
    except ValidationError as exc:
        raise UsageError(f"import of {name!r}: the entry does not validate: {exc}") from None
    problems = check_host(host)
    broken = {p[1] for p, _ in problems if len(p) >= 2 and p[0] == "interfaces"}
    for itf_name in broken:
        message = "; ".join(m for p, m in problems if p[:2] == ("interfaces", itf_name))
        _unmanage(entry, notes, str(itf_name), f"it does not validate ({message})")
    if not broken and problems and "routes" in entry:
        _unmanage_routes(entry, notes, "; ".join(m for _, m in problems))
    elif not broken and problems:
        shown = "; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems)
        raise UsageError(f"import of {name!r}: the entry does not validate: {shown}")
    return _validated(name, entry, notes) if problems else host


def _invalid(model: type[Interface] | type[Host], data: Entry) -> str | None:
    try:
        model.model_validate(clean(data))
    except ValidationError as exc:
        return "; ".join(str(e["msg"]) for e in exc.errors())
    return None


def _unmanage(entry: Entry, notes: list[Note], interface: str, why: str) -> None:
    entry["interfaces"].pop(interface, None)
    notes.append(Note("", None, f"interface {interface}", f"is left unmanaged: {why}"))


def _unmanage_routes(entry: Entry, notes: list[Note], why: str) -> None:
    moved = clean(entry.pop("routes"))
    shown = ", ".join(f"{r['to']} via {r['via']}" for r in moved)
    notes.append(Note("", None, f"routes {shown}", f"are left unmanaged (no 'routes' key): {why}"))


def clean(data: Any) -> Any:
    """``data`` without the parsers' private ``_keys``."""
    if isinstance(data, dict):
        return {k: clean(v) for k, v in data.items() if not str(k).startswith("_")}
    if isinstance(data, list):
        return [clean(v) for v in data]
    return data
