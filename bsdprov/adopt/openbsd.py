"""OpenBSD: ``/etc/hostname.IF`` (hostname.if(5)), ``/etc/mygate`` (mygate(5)), ``/etc/myname``
(myname(5)), read back into the inventory's keys; the inverse of ``render/openbsd.py``.

hostname.if(5): netstart reads each line; a line starting with ``inet``/``inet6`` gives an
address (``inet [alias] addr netmask``, ``inet6 [alias] addr prefixlen``, or ``autoconf``),
``dhcp`` means ``inet autoconf``, ``dest`` the point-to-point peer, ``!`` a command run with
``$if`` set, and any other line is passed to ``ifconfig IF`` as it is. mygate(5): the first
IPv4 and the first IPv6 address are the default gateways. A line bsdprov does not model
leaves its interface out of the entry (unmanaged), so a deploy never rewrites that file.
"""

from __future__ import annotations

import ipaddress

from bsdprov.adopt.common import (
    KEPT,
    NO_SETTINGS,
    Entry,
    Note,
    Parsed,
    add_address,
    content_lines,
    ipv4_with_mask,
    ipv6_with_prefix,
    is_ip,
    is_network,
    route_entry,
    scoped,
    words_of,
)
from bsdprov.model import IFNAME_RE

# ifconfig words that take one argument, and the inventory key each fills.
ONE_ARGUMENT = {"vnetid": "vlan", "parent": "parent", "lladdr": "mac", "mtu": "mtu"}


def parse_openbsd(files: dict[str, str]) -> Parsed:
    """``files``: path -> text of the files read (hostname.*, mygate, myname)."""
    parsed = Parsed()
    routes: list[Entry] = []
    for path in sorted(p for p in files if p.startswith("/etc/hostname.")):
        name = path.removeprefix("/etc/hostname.")
        if not IFNAME_RE.fullmatch(name):
            parsed.notes.append(
                Note(path, None, "", "is not an interface file netstart reads: left alone")
            )
            continue
        found = _interface(path, name, files[path], parsed.notes)
        if found is None:
            parsed.unmanaged.add(name)
            continue
        itf, own_routes = found
        parsed.interfaces[name] = itf
        routes += own_routes
        if own_routes:
            parsed.route_lines.add(name)
    if "/etc/mygate" in files:
        defaults = _mygate(files["/etc/mygate"], parsed.notes)
        parsed.routes = None if defaults is None else defaults + routes
    elif routes:
        parsed.routes = routes
    if "/etc/myname" in files:
        # netstart sets `hostname "$(stripcom /etc/myname)"`: comment lines are skipped.
        lines = [x for x in content_lines(files["/etc/myname"]) if not x[1].startswith("#")]
        if lines:
            parsed.hostname = lines[0][1]
    return parsed


def _interface(
    path: str, name: str, text: str, notes: list[Note]
) -> tuple[Entry, list[Entry]] | None:
    itf: Entry = {}
    routes: list[Entry] = []
    unknown: list[Note] = []
    saw_up = False
    for number, line in content_lines(text):
        if line.startswith("#"):
            continue  # reported by the import if a deploy would drop it
        if line.startswith("!"):
            route = _route_line(line[1:], name)
            if route is None:
                unknown.append(Note(path, number, line, KEPT))
            else:
                routes.append(route | {"_where": (path, number, line)})
            continue
        words = words_of(line)
        ok = words is not None and _words(words, itf)
        if not ok:
            unknown.append(Note(path, number, line, KEPT))
        elif words == ["up"]:
            saw_up = True
    if not (unknown or itf or routes or saw_up):
        # Empty, or comments only: the OS creates the interface and configures nothing; no
        # entry renders such a file, so the interface is the admin's.
        unknown.append(Note(path, None, "", NO_SETTINGS))
    if unknown:
        notes.extend(unknown)
        notes.append(Note(path, None, "", f"leaves {name} out of the entry (unmanaged)"))
        return None
    # netstart's "up" line: written for a set "up", and always for an interface without an
    # address or a bridge; read back as "up: true" except on a bridge, which is always up.
    if saw_up and "up" not in itf and not name.startswith("bridge"):
        itf["up"] = True
    return itf, routes


def _words(words: list[str], itf: Entry) -> bool:
    """Fill ``itf`` from one ifconfig line; False when a word is not modelled."""
    first = words[0]
    if first == "dhcp" and len(words) == 1:
        itf["dhcp"] = True
        return True
    if first in ("inet", "inet6"):
        return _address(words, itf)
    if first == "dest" and len(words) == 2 and is_ip(words[1]):
        itf["peer"] = words[1]
        return True
    if words == ["up"]:
        return True
    if words == ["down"]:
        itf["up"] = False
        return True
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word in ONE_ARGUMENT and rest:
            value = rest.pop(0)
            key = ONE_ARGUMENT[word]
            if key in ("vlan", "mtu"):
                if not value.isdigit():
                    return False
                itf[key] = int(value)
            else:
                itf[key] = value
        elif word == "tunnel" and len(rest) >= 2 and is_ip(rest[0]) and is_ip(rest[1]):
            itf["tunnel"] = {"local": rest.pop(0), "remote": rest.pop(0)}
        elif word == "description" and rest:
            itf["description"] = rest.pop(0)
        elif word == "add" and rest and IFNAME_RE.fullmatch(rest[0]):
            itf.setdefault("members", []).append(rest.pop(0))
        else:
            return False
    return True


def _address(words: list[str], itf: Entry) -> bool:
    family, rest = words[0], words[1:]
    if rest == ["autoconf"]:
        itf["dhcp" if family == "inet" else "autoconf6"] = True
        return True
    if rest[:1] == ["alias"]:
        rest = rest[1:]
    if family == "inet" and len(rest) == 3 and _default_broadcast(rest[0], rest[1], rest[2]):
        rest = rest[:2]  # hostname.if(5)'s optional broadcast, given as its default
    if not rest or len(rest) > 2:
        return False
    if family == "inet":
        address = ipv4_with_mask(rest[0], rest[1] if len(rest) == 2 else None)
    else:
        address = ipv6_with_prefix(rest[0], rest[1] if len(rest) == 2 else None)
    if address is None:
        return False
    add_address(itf, address)
    return True


def _default_broadcast(address: str, mask: str, broadcast: str) -> bool:
    """``NONE`` (older installers' placeholder) or the subnet's own broadcast address."""
    found = ipv4_with_mask(address, mask)
    if found is None:
        return False
    return broadcast == "NONE" or broadcast == str(
        ipaddress.IPv4Interface(found).network.broadcast_address
    )


def _route_line(command: str, name: str) -> Entry | None:
    """``route -qn add -inet VIA -cloning -link -iface $if`` (an onlink gateway),
    ``route -qn add -inet NET GW`` or ``route -qn add -inet default GW`` (a default through a
    tunnel, which netstart configures after mygate at boot): the forms bsdprov writes
    (route(8))."""
    words = words_of(command)
    if words is None or words[:3] != ["route", "-qn", "add"] or len(words) < 6:
        return None
    family, target = words[3], words[4]
    version = {"-inet": 4, "-inet6": 6}.get(family)
    if version is None:
        return None
    if words[5:] == ["-cloning", "-link", "-iface", "$if"] and is_ip(target, version):
        return route_entry("default", target, name, onlink=True) | {"_link": True}
    if len(words) == 6 and (is_network(target) or target == "default"):
        via, scope = scoped(words[5])
        if is_ip(via, version):
            return route_entry(target, via, scope) | {"_found_on": name}
    return None


def _mygate(text: str, notes: list[Note]) -> list[Entry] | None:
    """mygate(5): netstart adds the first IPv4 and the first IPv6 line. Any other line would
    go with a deploy's rewrite: then routes are left unmanaged (None)."""
    found: list[Entry] = []
    families: set[int] = set()
    for number, line in content_lines(text):
        if line.startswith("#"):
            continue  # reported by the import if a deploy would drop it
        via, scope = scoped(line)
        version = 6 if ":" in via else 4
        if not is_ip(via) or version in families:
            why = "is not a gateway address" if not is_ip(via) else "is a second gateway"
            notes.append(Note("/etc/mygate", number, line, f"{why}: routes are left unmanaged"))
            return None
        else:
            families.add(version)
            found.append(route_entry("default", via, scope))
    return found
