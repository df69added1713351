"""FreeBSD: the network keys of ``/etc/rc.conf`` (rc.conf(5)) read back into the inventory's
keys; the inverse of ``render/freebsd.py``.

rc.conf(5): ``ifconfig_IF`` holds ifconfig arguments (``DHCP`` asks for dhclient),
``ifconfig_IF_ipv6`` the first IPv6 setting, ``ifconfig_IF_aliasN`` further addresses,
``ifconfig_IF_descr`` the description, ``cloned_interfaces`` the interfaces to create,
``vlans_IF``/``create_args_IF`` the VLANs on IF, ``static_routes`` with ``route_NAME`` and
``defaultrouter`` the IPv4 routes (``ipv6_`` the IPv6 ones). Only keys bsdprov manages are
read; every other line of rc.conf stays as the admin wrote it, since a deploy edits by key.
Static routes the admin named (not ``bsdprov_*``) stay too: listed, never imported.
"""

from __future__ import annotations

import re

from bsdprov.adopt.common import (
    KEPT,
    Entry,
    Note,
    Parsed,
    add_address,
    assignment_lines,
    ipv4_with_mask,
    ipv6_with_prefix,
    is_ip,
    is_network,
    route_entry,
    scoped,
)
from bsdprov.model import IFNAME_RE
from bsdprov.plan import shell_values
from bsdprov.render.freebsd import ROUTE_PREFIX

RC = "/etc/rc.conf"
# Every key network.subr reads for an interface, legacy forms included: a deploy owns them all.
IFKEY_RE = re.compile(
    r"(?:ifconfig|create_args|vlans|ipv4_addrs|ipv6_ifconfig|ipv6_prefix)_([a-z]+[0-9]+)(?:_(.+))?"
)
# Network keys bsdprov does not model, named so the admin knows they stay as they are.
NETWORK_KEY_RE = re.compile(
    r"(ifconfig_|ipv6_|gateway_enable|static_routes|route_|defaultrouter|create_args_|vlans_"
    r"|cloned_interfaces|dhclient|rtsold)"
)


def parse_freebsd(files: dict[str, str]) -> Parsed:
    parsed = Parsed()
    text = files.get(RC)
    if text is None:
        return parsed
    values = shell_values(text)
    line_of = assignment_lines(text)
    used: set[str] = set()

    def note(key: str, outcome: str = KEPT) -> None:
        parsed.notes.append(Note(RC, line_of.get(key), f"{key}={values[key]}", outcome))

    if "hostname" in values:
        parsed.hostname = values["hostname"]
        used.add("hostname")
    # A deploy removes every ifconfig_IF*, create_args_IF and vlans_IF key of an interface it
    # manages (and writes its own): one it could not write back leaves IF unmanaged.
    names = sorted({m.group(1) for k in values if (m := IFKEY_RE.fullmatch(k))})
    cloned = values.get("cloned_interfaces", "").split()
    used.add("cloned_interfaces")
    vlan_of: dict[str, tuple[str, int]] = {}
    for parent in names:
        children = values.get(f"vlans_{parent}", "").split()
        for child in children:
            args = values.get(f"create_args_{child}", "").split()
            if len(args) == 2 and args[0] == "vlan" and args[1].isdigit():
                vlan_of[child] = (parent, int(args[1]))
    for name in names:
        keys = [k for k in values if (m := IFKEY_RE.fullmatch(k)) and m.group(1) == name]
        itf = _interface(name, {k: values[k] for k in keys}, vlan_of)
        used.update(keys)
        if itf is None:
            for key in keys:
                note(key)
            parsed.notes.append(Note(RC, None, "", f"leaves {name} out of the entry (unmanaged)"))
            parsed.unmanaged.add(name)
        else:
            parsed.interfaces[name] = itf
    for name in cloned:
        if name not in parsed.interfaces and name not in parsed.unmanaged:
            # Created with no ifconfig_ key: a deploy keeps the admin's word in the list.
            parsed.notes.append(
                Note(
                    RC,
                    line_of.get("cloned_interfaces"),
                    name,
                    "is cloned but not configured: "
                    "not imported, and kept in cloned_interfaces by every deploy",
                )
            )
    parsed.routes = _routes(values, used, parsed, line_of)
    for key in values:
        if key == "ifconfig_DEFAULT" and parsed.interfaces:
            note(
                key,
                "is not modelled and stays; it no longer reaches the imported interfaces, "
                "which a deploy gives their own ifconfig_IF_ipv6 (empty when none)",
            )
        elif key not in used and NETWORK_KEY_RE.match(key):
            note(key, "is not modelled: a deploy leaves it as it is")
    return parsed


def _interface(
    name: str, values: dict[str, str], vlan_of: dict[str, tuple[str, int]]
) -> Entry | None:
    """IF's keys as its entry; None when one of them is not what bsdprov writes."""
    itf: Entry = {}
    known = {f"ifconfig_{name}", f"ifconfig_{name}_ipv6", f"ifconfig_{name}_descr"}
    for key, value in values.items():
        if key.startswith(f"vlans_{name}"):
            # Only VLANs bsdprov can write back (vlanN with create_args_vlanN="vlan N").
            if key != f"vlans_{name}" or any(c not in vlan_of for c in value.split()):
                return None
        elif key.startswith(f"create_args_{name}"):
            if key != f"create_args_{name}" or name not in vlan_of:
                return None
        elif key not in known and not re.fullmatch(rf"ifconfig_{name}_alias[0-9]+", key):
            return None
    if name in vlan_of:
        itf["parent"], itf["vlan"] = vlan_of[name]
    main = values.get(f"ifconfig_{name}")
    if main is None:
        return None  # bsdprov writes ifconfig_IF for every interface it manages
    if main is not None and not _main_words(main.split(), itf):
        return None
    v6 = values.get(f"ifconfig_{name}_ipv6")
    # Empty: no IPv6 (bsdprov sets it so that ifconfig_DEFAULT never applies).
    if v6 and not _address(v6.split(), itf, first_v6=True):
        return None
    aliases = sorted(
        (k for k in values if k.startswith(f"ifconfig_{name}_alias")),
        key=lambda k: int(k.rsplit("alias", 1)[1]),
    )
    for key in aliases:
        if not _address(values[key].split(), itf, first_v6=False):
            return None
    if f"ifconfig_{name}_descr" in values:
        itf["description"] = values[f"ifconfig_{name}_descr"]
    return itf


def _main_words(words: list[str], itf: Entry) -> bool:
    first_inet = True
    up = False
    while words:
        word = words.pop(0)
        # SYNCDHCP (boot waits for the lease) is not modelled: bsdprov writes DHCP.
        if word == "DHCP" and "dhcp" not in itf:
            itf["dhcp"] = True
        elif word == "inet" and words:
            if not first_inet or not _inet(words, itf):
                return False
            first_inet = False
        elif word == "tunnel" and len(words) >= 2 and is_ip(words[0]) and is_ip(words[1]):
            itf["tunnel"] = {"local": words.pop(0), "remote": words.pop(0)}
        elif word == "addm" and words and IFNAME_RE.fullmatch(words[0]):
            itf.setdefault("members", []).append(words.pop(0))
        elif word == "ether" and words:
            itf["mac"] = words.pop(0)
        elif word == "mtu" and words and words[0].isdigit():
            itf["mtu"] = int(words.pop(0))
        elif word == "down" and not words:
            itf["up"] = False
        elif word == "up" and not words:
            up = True
        else:
            return False
    # ifconfig(8) brings an interface up when it sets an address: "up" is implied then.
    if up and not (itf.get("addresses") or itf.get("dhcp")):
        itf["up"] = True
    return True


def _inet(words: list[str], itf: Entry) -> bool:
    """``inet A [PEER] netmask M`` or ``inet A/len`` (the primary address)."""
    address = words.pop(0)
    if "/" in address:
        found = ipv4_with_mask(address, None)
    else:
        if words and is_ip(words[0], 4):
            itf["peer"] = words.pop(0)
        if len(words) < 2 or words[0] != "netmask":
            return False
        words.pop(0)
        found = ipv4_with_mask(address, words.pop(0))
    if found is None:
        return False
    add_address(itf, found)
    return True


def _address(words: list[str], itf: Entry, first_v6: bool) -> bool:
    """An alias (``inet A netmask M``, ``inet6 A prefixlen N``, ``ether MAC``: network.subr's
    ifalias hands it to ``ifconfig IF ether MAC alias``) or the ``_ipv6`` value."""
    if len(words) == 2 and words[0] == "ether" and not first_v6 and "mac" not in itf:
        itf["mac"] = words[1]
        return True
    if words == ["inet6", "accept_rtadv"] and first_v6:
        itf["autoconf6"] = True
        return True
    if len(words) >= 2 and words[0] == "inet" and not first_v6:
        rest = words[1:]
        if len(rest) == 3 and rest[1] == "netmask":
            found = ipv4_with_mask(rest[0], rest[2])
        elif len(rest) == 1:
            found = ipv4_with_mask(rest[0], None)
        else:
            return False
    elif len(words) >= 2 and words[0] == "inet6":
        rest = words[1:]
        if first_v6 and len(rest) == 4 and is_ip(rest[1], 6):
            itf["peer"] = rest.pop(1)
        if len(rest) == 3 and rest[1] == "prefixlen":
            found = ipv6_with_prefix(rest[0], rest[2])
        elif len(rest) == 1:
            found = ipv6_with_prefix(rest[0], None)
        else:
            return False
    else:
        return False
    if found is None:
        return False
    add_address(itf, found)
    return True


def _routes(
    values: dict[str, str], used: set[str], parsed: Parsed, line_of: dict[str, int]
) -> list[Entry] | None:
    """defaultrouter and bsdprov's named static routes; None when rc.conf sets no route."""
    routes: list[Entry] = []
    links: list[Entry] = []
    managed = False
    for ipv6, version in (("", 4), ("ipv6_", 6)):
        default = values.get(f"{ipv6}defaultrouter")
        if default is not None:
            managed = True
            used.add(f"{ipv6}defaultrouter")
            via, scope = scoped(default)
            if default != "NO":  # rc.conf(5)'s "no default route"
                routes.append(route_entry("default", via, scope))
        for name in values.get(f"{ipv6}static_routes", "").split():
            key = f"{ipv6}route_{name}"
            if not name.startswith(ROUTE_PREFIX):
                continue  # the admin's own: kept by every deploy, reported below
            managed = True
            used.add(key)
            route = _static(values.get(key, ""), version)
            if route is not None:
                route["_where"] = (RC, line_of.get(key), f"{key}={values.get(key, '')}")
            if route is None:
                parsed.notes.append(Note(RC, None, f"{key}={values.get(key, '')}", KEPT))
            elif route.get("_link"):
                links.append(route)
            else:
                routes.append(route)
        if values.get(f"{ipv6}static_routes") is not None:
            used.add(f"{ipv6}static_routes")
            admin = [
                n for n in values[f"{ipv6}static_routes"].split() if not n.startswith(ROUTE_PREFIX)
            ]
            for name in admin:
                used.add(f"{ipv6}route_{name}")
                text = values.get(f"{ipv6}route_{name}", "")
                parsed.notes.append(
                    Note(
                        RC,
                        None,
                        f"{ipv6}route_{name}={text}",
                        "is the admin's static route: not imported, and kept by every deploy",
                    )
                )
    if not managed:
        return None
    return routes + links


def _static(args: str, version: int) -> Entry | None:
    words = args.split()
    family = ["-inet6"] if version == 6 and words[:1] == ["-inet6"] else []
    words = words[len(family) :]
    link = len(words) == 4 and words[0] == "-host" and words[2] == "-interface"
    if link and is_ip(words[1], version) and IFNAME_RE.fullmatch(words[3]):
        return route_entry("default", words[1], words[3], onlink=True) | {"_link": True}
    if len(words) == 3 and words[0] == "-net" and is_network(words[1]):
        via, scope = scoped(words[2])
        if is_ip(via, version):
            return route_entry(words[1], via, scope)
    return None
