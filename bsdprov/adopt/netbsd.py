"""NetBSD: ``/etc/ifconfig.IF`` (ifconfig.if(5)) and ``defaultroute``/``defaultroute6``/``hostname``
in ``/etc/rc.conf`` (rc.conf(5)), read back into the inventory's keys; the inverse of
``render/netbsd.py``.

ifconfig.if(5): each line is a set of ifconfig arguments (``inet A netmask M [alias]``,
``inet6 A prefixlen N alias``, ``dhcp``, ``up``/``down``...), except that a line starting
with ``!`` is a command run by sh and ``#`` starts a comment. An ``ifconfig_IF`` variable in
rc.conf replaces the file entirely (rc.d/network), so such an interface is left unmanaged: a
deploy would remove the variable bsdprov does not model.
"""

from __future__ import annotations

import re

from bsdprov.adopt.common import (
    KEPT,
    NO_SETTINGS,
    Entry,
    Note,
    Parsed,
    add_address,
    assignment_lines,
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
from bsdprov.plan import shell_values

RC = "/etc/rc.conf"
DHCPCD_CONF = "/etc/dhcpcd.conf"
DESCRIPTION_COMMENT = "# description: "
# rc.conf(5) network keys bsdprov does not write, named so the admin knows they stay.
NETWORK_KEY_RE = re.compile(
    r"dhcpcd|dhcpcd_flags|ip6mode|rtsol|rtsold|rtsold_flags|net_interfaces|auto_ifconfig"
    r"|ifwatchd|ifwatchd_flags|flushroutes"
)
ENSURE_RE = re.compile(r"!/sbin/ifconfig (\S+) >/dev/null 2>&1 \|\| /sbin/ifconfig \1 create")
# A vlan's tag and parent, set only when missing (a bridge's file may have set them first).
VLAN_CASE_RE = re.compile(
    r'!case "\$\(/sbin/ifconfig (\S+)\)" in \*"vlan: ([0-9]+) parent: (\S+)"\*\) ;; '
    r"\*\) /sbin/ifconfig \1 vlan \2 vlanif \3 ;; esac"
)


def parse_netbsd(files: dict[str, str]) -> Parsed:
    parsed = Parsed()
    values = shell_values(files.get(RC, ""))
    line_of = assignment_lines(files.get(RC, ""))
    if "hostname" in values:
        parsed.hostname = values["hostname"]
    routes: list[Entry] = []
    for path in sorted(p for p in files if p.startswith("/etc/ifconfig.")):
        name = path.removeprefix("/etc/ifconfig.")
        if not IFNAME_RE.fullmatch(name):
            parsed.notes.append(
                Note(path, None, "", "is not an interface file rc.d/network reads: left alone")
            )
            continue
        if f"ifconfig_{name}" in values:
            parsed.notes.append(
                Note(
                    RC,
                    None,
                    f"ifconfig_{name}={values[f'ifconfig_{name}']}",
                    f"replaces {path} at boot and is not modelled: {name} is left unmanaged",
                )
            )
            parsed.unmanaged.add(name)
            continue
        found = _interface(path, name, files[path], parsed.notes)
        if found is None:
            parsed.unmanaged.add(name)
            continue
        parsed.interfaces[name], own = found
        routes += own
        if own:
            parsed.route_lines.add(name)
    for key, value in values.items():
        name = key.removeprefix("ifconfig_")
        if key.startswith("ifconfig_") and name not in parsed.unmanaged:
            parsed.notes.append(Note(RC, None, f"{key}={value}", KEPT))
            parsed.unmanaged.add(name)
    for key, value in values.items():
        if NETWORK_KEY_RE.fullmatch(key):
            parsed.notes.append(
                Note(
                    RC,
                    line_of.get(key),
                    f"{key}={value}",
                    "is not modelled: a deploy leaves it as it is",
                )
            )
    for name, itf in list(parsed.interfaces.items()):
        for member, tag, parent, number, line in itf.pop("_member_vlans", []):
            theirs = parsed.interfaces.get(member, {})
            if (theirs.get("vlan"), theirs.get("parent")) != (tag, parent) or member not in itf.get(
                "members", []
            ):
                parsed.notes.append(
                    Note(
                        f"/etc/ifconfig.{name}",
                        number,
                        line,
                        f"does not match {member}'s own file: {name} is left unmanaged",
                    )
                )
                del parsed.interfaces[name]
                parsed.unmanaged.add(name)
                break
    _denied_dhcp(files.get(DHCPCD_CONF, ""), parsed)
    defaults = []
    for key in ("defaultroute", "defaultroute6"):
        if key in values:
            via, scope = scoped(values[key])
            defaults.append(route_entry("default", via, scope))
    if defaults or routes:
        parsed.routes = defaults + routes
    return parsed


def _denied_dhcp(text: str, parsed: Parsed) -> None:
    """A DHCP interface that dhcpcd.conf denies (``denyinterfaces IF``, dhcpcd.conf(5)): a
    deploy removes that line so that dhcpcd takes the interface, which the admin ruled out;
    so the interface is left unmanaged."""
    for number, line in content_lines(text):
        words = line.split()
        name = words[1] if len(words) == 2 and words[0] == "denyinterfaces" else None
        if name is not None and parsed.interfaces.get(name, {}).get("dhcp"):
            parsed.notes.append(
                Note(
                    DHCPCD_CONF,
                    number,
                    line,
                    f"denies dhcpcd {name}, whose file asks for DHCP: {name} is left unmanaged",
                )
            )
            del parsed.interfaces[name]
            parsed.unmanaged.add(name)


def _interface(
    path: str, name: str, text: str, notes: list[Note]
) -> tuple[Entry, list[Entry]] | None:
    itf: Entry = {}
    routes: list[Entry] = []
    unknown: list[Note] = []
    saw_up = False
    for number, line in content_lines(text):
        if line.startswith(DESCRIPTION_COMMENT):
            itf["description"] = line.removeprefix(DESCRIPTION_COMMENT)
            continue
        if line.startswith("#"):
            continue  # reported by the import if a deploy would drop it
        if line.startswith("!"):
            if ENSURE_RE.fullmatch(line):
                continue  # implied by the bridge member added on a later line
            vlan = VLAN_CASE_RE.fullmatch(line)
            if vlan and vlan.group(1) == name:
                itf.update({"vlan": int(vlan.group(2)), "parent": vlan.group(3)})
                continue
            if vlan:
                # A bridge's copy of its vlan member's own line: it must say the same.
                member, tag, parent = vlan.group(1), int(vlan.group(2)), vlan.group(3)
                itf.setdefault("_member_vlans", []).append((member, tag, parent, number, line))
                continue
            before = len(routes)
            if not _command(line[1:], name, itf, routes):
                unknown.append(Note(path, number, line, KEPT))
            for route in routes[before:]:
                route["_where"] = (path, number, line)
            continue
        words = words_of(line)
        if words == ["up"]:
            saw_up = True
        elif words is None or not _words(words, itf):
            unknown.append(Note(path, number, line, KEPT))
    if not (unknown or itf or routes or saw_up):
        # Empty, or comments only: the OS creates the interface and configures nothing; no
        # entry renders such a file, so the interface is the admin's.
        unknown.append(Note(path, None, "", NO_SETTINGS))
    if unknown:
        notes.extend(unknown)
        notes.append(Note(path, None, "", f"leaves {name} out of the entry (unmanaged)"))
        return None
    if saw_up and not name.startswith("bridge"):
        itf["up"] = True
    return itf, routes


def _words(words: list[str], itf: Entry) -> bool:
    first = words[0]
    if words == ["dhcp"]:
        itf["dhcp"] = True
        return True
    if words == ["down"]:
        itf["up"] = False
        return True
    if first == "vlan" and len(words) == 4 and words[2] == "vlanif" and words[1].isdigit():
        itf.update({"vlan": int(words[1]), "parent": words[3]})
        return True
    if first == "tunnel" and len(words) == 3 and is_ip(words[1]) and is_ip(words[2]):
        itf["tunnel"] = {"local": words[1], "remote": words[2]}
        return True
    if first == "link" and len(words) == 3 and words[2] == "active":
        itf["mac"] = words[1]
        return True
    if first == "mtu" and len(words) == 2 and words[1].isdigit():
        itf["mtu"] = int(words[1])
        return True
    if first == "description" and len(words) == 2:
        itf["description"] = words[1]
        return True
    if first in ("inet", "inet6"):
        return _address(words, itf)
    return False


def _address(words: list[str], itf: Entry) -> bool:
    """``inet A [PEER] netmask M [alias]`` / ``inet6 A [PEER] prefixlen N [alias]``."""
    family, rest = words[0], words[1:]
    if rest[-1:] == ["alias"]:
        rest = rest[:-1]
    keyword = "netmask" if family == "inet" else "prefixlen"
    version = 4 if family == "inet" else 6
    peer = None
    if len(rest) == 4 and is_ip(rest[1], version):
        peer = rest.pop(1)
    if len(rest) == 3 and rest[1] == keyword:
        found = (
            ipv4_with_mask(rest[0], rest[2]) if version == 4 else ipv6_with_prefix(rest[0], rest[2])
        )
    elif len(rest) == 1:
        found = ipv4_with_mask(rest[0], None) if version == 4 else ipv6_with_prefix(rest[0], None)
    else:
        return False
    if found is None:
        return False
    if peer is not None:
        itf["peer"] = peer
    add_address(itf, found)
    return True


def _command(command: str, name: str, itf: Entry, routes: list[Entry]) -> bool:
    words = words_of(command)
    if words is None:
        return False
    if len(words) == 4 and words[:2] == ["/sbin/brconfig", name] and words[2] == "add":
        itf.setdefault("members", []).append(words[3])
        return True
    if words[:3] != ["/sbin/route", "-q", "add"]:
        return False
    rest = words[3:]
    version = 4
    if rest[:1] == ["-inet6"]:
        version, rest = 6, rest[1:]
    if len(rest) == 4 and rest[0] == "-host" and rest[2] == "-iface" and is_ip(rest[1], version):
        routes.append(route_entry("default", rest[1], name, onlink=True) | {"_link": True})
        return True
    if len(rest) == 3 and rest[0] == "-net" and is_network(rest[1]):
        via, scope = scoped(rest[2])
        if is_ip(via, version):
            routes.append(route_entry(rest[1], via, scope) | {"_found_on": name})
            return True
    return False
