"""``bsdprov import``: a live host's network files read back into an inventory entry.

Pure core: the files (path -> text, as the probe read them) go in, an ``Imported`` comes out.
Each OS's parser (``openbsd``, ``freebsd``, ``netbsd``; ``vmd`` for a hypervisor's files) is
the inverse of its renderer. The entry is then checked the way a deploy would use it: it must
validate as an inventory host, and rendering it and parsing the result again must give the
same entry; the files a first deploy would still rewrite (bsdprov's header comment, another
layout of the same settings) are listed. Lines the model cannot express are never dropped
silently: each is a ``Note``, and its interface is left out of the entry (unmanaged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bsdprov.adopt.common import COMMENT, Entry, Note, Parsed, content_lines
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
    Vm,
    connected_interface,
    is_link_local,
    route_interface,
)
from bsdprov.plan import FileChange, ObservedFile, plan_host
from bsdprov.render import FileEdit, FileSpec, Rendered, file_content, render_host
from bsdprov.render.base import ordered_interfaces
from bsdprov.render.hypervisor import DHCPD_CONF, SYSCTL_CONF, VM_CONF
from bsdprov.render.pf import ANCHOR_DIR, PF_CONF, PF_INCLUDED
from bsdprov.vmd import guests_of

PARSERS: dict[str, Callable[[dict[str, str]], Parsed]] = {
    "openbsd": parse_openbsd,
    "freebsd": parse_freebsd,
    "netbsd": parse_netbsd,
}
# What the import probe reads: fixed paths, and the patterns of per-interface files.
IMPORT_PATHS = ("/etc/mygate", "/etc/myname", "/etc/rc.conf", *VMD_PATHS)
IMPORT_GLOBS = ("/etc/hostname.*", "/etc/ifconfig.*", "/etc/pf.vm/*.conf")

__all__ = ["IMPORT_GLOBS", "IMPORT_PATHS", "Imported", "Note", "import_host"]


@dataclass(frozen=True, slots=True)
class Imported:
    """The entry for one host (plain data, inventory schema), its guests' ``vm:`` keys (for
    a vmd hypervisor), what was not imported, and what a first deploy would still rewrite."""

    name: str
    entry: Entry
    guests: dict[str, Entry]
    notes: tuple[Note, ...]
    rewrites: tuple[str, ...]


def import_host(
    name: str,
    os: str,
    release: str | None,
    files: Mapping[str, str],
    address: str | None = None,
    disk_sizes: Mapping[str, str] | None = None,
    known: Mapping[str, Host] | None = None,
    port: int = 22,
    modes: Mapping[str, tuple[int | None, str | None, str | None]] | None = None,
) -> Imported:
    """Build ``name``'s entry from ``files`` read on a host running ``os`` ``release``.

    ``disk_sizes`` (image path -> size such as ``20G``) fill a hypervisor's guests' disks;
    ``known`` (the inventory's hosts) lets a hypervisor's check render its guests as they are;
    ``port`` is the SSH port (an owned pf.conf keeps it open); ``modes`` (path -> mode, owner,
    group as the probe saw them) let the check report mode changes a deploy would make.
    """
    texts = dict(files)
    sizes = dict(disk_sizes or {})
    observed = {
        path: ObservedFile(path, text, *(modes or {}).get(path, (None, None, None)))
        for path, text in texts.items()
    }
    first = _checked(name, os, release, texts, address, port, sizes, known or {}, True)
    entry, guests, notes, rendered = first
    vmd_files = [
        change
        for change in plan_host(rendered, observed).changes
        if change.meaningful and _vmd_owned(change.path)
    ]
    if vmd_files:
        # A vmd file bsdprov owns whole but would write otherwise: it reads back the same
        # only because its other lines are derived. Leave the vmd part to the admin.
        entry, guests, notes, rendered = _checked(
            name, os, release, texts, address, port, sizes, known or {}, False
        )
        notes = [_vmd_note(change) for change in vmd_files] + notes
    notes += _dropped_comments(rendered.files, texts)
    notes += _vms_not_running_here(name, entry, guests, known or {})
    plan = plan_host(rendered, observed)
    rewrites = tuple(
        _rewrite(change)
        for change in plan.changes
        if change.before.mode is not None or change.action != "metadata"
    )
    return Imported(name, entry, guests, tuple(notes), rewrites)


def _checked(
    name: str,
    os: str,
    release: str | None,
    texts: dict[str, str],
    address: str | None,
    port: int,
    sizes: dict[str, str],
    known: Mapping[str, Host],
    vmd: bool,
) -> tuple[Entry, dict[str, Entry], list[Note], Rendered]:
    """The entry, checked: what bsdprov would write from it reads back as the same entry."""
    host, entry, guests, notes = _entry(name, os, texts, address, port, sizes, vmd)
    hosts = _with_guests(host, guests, known)
    rendered = render_host(host, os, release, guests_of(hosts, name) if host.is_hypervisor else ())
    rewritten = {spec.path: file_content(spec, texts.get(spec.path)) for spec in rendered.files}
    _, again, again_guests, _ = _entry(name, os, {**texts, **rewritten}, address, port, sizes, vmd)
    if (_clean(again), _clean(again_guests)) != (_clean(entry), _clean(guests)):
        differ = sorted(k for k in entry.keys() | again.keys() if entry.get(k) != again.get(k))
        raise UsageError(
            f"import of {name!r}: the files bsdprov would write do not read back as the entry "
            f"(keys {', '.join(differ) or 'of the guests'} differ); nothing was imported: "
            "please report this as a bug, with the files"
        )
    return entry, guests, notes, rendered


def _vmd_owned(path: str) -> bool:
    return path in (VM_CONF, DHCPD_CONF, PF_INCLUDED, PF_CONF) or path.startswith(f"{ANCHOR_DIR}/")


def _vmd_note(change: FileChange) -> Note:
    before = (change.before.content or "").splitlines()
    after = set((change.after or "").splitlines())
    first = next(
        (
            (i, line.strip())
            for i, line in enumerate(before, 1)
            if line.strip() and not line.strip().startswith("#") and line not in after
        ),
        (None, ""),
    )
    why = {
        "remove": "would be removed (no VM of vm.conf has it)",
        "create": "is missing",
    }.get(change.action, "is not what bsdprov writes")
    hint = (
        "; import the VM's host first: its addresses make the anchor's anti-spoofing rules"
        if change.path.startswith(f"{ANCHOR_DIR}/") and change.action == "modify"
        else ""
    )
    return Note(
        change.path,
        first[0],
        first[1],
        f"{why}: the vmd part (switches, VMs, NAT, DHCP, pf) is left unmanaged{hint}",
    )


def _entry(
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


def _vms_not_running_here(
    name: str, entry: Entry, guests: dict[str, Entry], known: Mapping[str, Host]
) -> list[Note]:
    """Inventory hosts whose VM names this hypervisor but which vm.conf does not have: their
    ``vm:`` stays, so a deploy would add them."""
    if "switches" not in entry:
        return []
    return [
        Note(
            "",
            None,
            f"host {other.name}",
            f"has a vm on {name} in the inventory, but /etc/vm.conf has no VM {other.name!r}: "
            "its vm key is kept, and a deploy would add that VM",
        )
        for other in known.values()
        if other.vm is not None and other.vm.hypervisor == name and other.name not in guests
    ]


def _without_vmd(texts: dict[str, str]) -> dict[str, str]:
    return {p: t for p, t in texts.items() if p == SYSCTL_CONF}


def _dropped_comments(specs: tuple[FileEdit, ...], texts: Mapping[str, str]) -> list[Note]:
    """The admin's comments in files a deploy rewrites whole (rc.conf, sysctl.conf and
    pf.conf are edited by key or line: their comments stay)."""
    found = []
    for spec in specs:
        if not isinstance(spec, FileSpec) or spec.path not in texts:
            continue
        kept = {line.strip() for line in spec.content.splitlines()}
        found += [
            Note(spec.path, number, line, COMMENT)
            for number, line in content_lines(texts[spec.path])
            if line.startswith("#") and line not in kept
        ]
    return found


def _rewrite(change: FileChange) -> str:
    what = {
        "create": "creates it",
        "remove": "removes it",
        "metadata": f"sets its mode to {change.mode:04o} {change.owner}:{change.group}",
    }.get(change.action)
    if what is None:
        what = (
            "rewrites it in bsdprov's layout, same settings"
            if change.meaningful
            else "changes only comments, such as bsdprov's header (no command runs)"
        )
    return f"{change.path}: a first deploy {what}"


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
        bare = {k: v for k, v in _clean(route).items() if k != "interface"}
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
    if "routes" in entry and _invalid(Host, {"name": name, "routes": _clean(entry["routes"])}):
        _unmanage_routes(entry, notes, "a route does not validate")
    try:
        host = Host.model_validate({"name": name, **_clean(entry)})
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
        model.model_validate(_clean(data))
    except ValidationError as exc:
        return "; ".join(str(e["msg"]) for e in exc.errors())
    return None


def _unmanage(entry: Entry, notes: list[Note], interface: str, why: str) -> None:
    entry["interfaces"].pop(interface, None)
    notes.append(Note("", None, f"interface {interface}", f"is left unmanaged: {why}"))


def _unmanage_routes(entry: Entry, notes: list[Note], why: str) -> None:
    moved = _clean(entry.pop("routes"))
    shown = ", ".join(f"{r['to']} via {r['via']}" for r in moved)
    notes.append(Note("", None, f"routes {shown}", f"are left unmanaged (no 'routes' key): {why}"))


def _clean(data: Any) -> Any:
    """``data`` without the parsers' private ``_keys``."""
    if isinstance(data, dict):
        return {k: _clean(v) for k, v in data.items() if not str(k).startswith("_")}
    if isinstance(data, list):
        return [_clean(v) for v in data]
    return data


def _with_guests(
    host: Host, guests: dict[str, Entry], known: Mapping[str, Host]
) -> dict[str, Host]:
    hosts: dict[str, Host] = {host.name: host}
    for guest, vm in guests.items():
        base = known.get(guest) or Host(name=guest)
        hosts[guest] = base.model_copy(update={"vm": Vm.model_validate(_clean(vm))})
    return hosts


def public_entry(imported: Imported) -> Entry:
    """The entry without the parsers' private keys: what is printed and written."""
    cleaned: Entry = _clean(imported.entry)
    return cleaned


def public_guests(imported: Imported) -> dict[str, Entry]:
    cleaned: dict[str, Entry] = _clean(imported.guests)
    return cleaned
