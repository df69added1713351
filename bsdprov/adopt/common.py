"""What every parser shares: the notes it leaves, and the ifconfig words it reads back.

Pure: text in, values out. A parser returns the inventory entry as plain data (the schema of
docs/inventory.md) and a ``Note`` for every line it did not turn into a key, so nothing the
admin wrote is dropped without a word.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from bsdprov.plan import mask_secrets
from bsdprov.render.base import MANAGED_HEADER

Entry = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Note:
    """A line (or a whole file) the model does not express, and what the import did about it."""

    path: str
    line: int | None
    text: str
    outcome: str

    def __str__(self) -> str:
        if not self.path:
            return f"{mask_secrets(self.text)} {self.outcome}"
        where = f"{self.path}: line {self.line}" if self.line is not None else self.path
        # A line bsdprov does not model may hold a secret (wpakey, wgkey, carp's pass).
        shown = f" {mask_secrets(self.text)!r}" if self.text else ""
        return f"{where}{shown} {self.outcome}"


@dataclass(slots=True)
class Parsed:
    """One OS parser's result: interfaces (name -> entry), routes (None: left unmanaged),
    the host name, and notes. ``unmanaged`` names interfaces left out because of a line."""

    interfaces: dict[str, Entry] = field(default_factory=dict)
    routes: list[Entry] | None = None
    hostname: str | None = None
    notes: list[Note] = field(default_factory=list)
    unmanaged: set[str] = field(default_factory=set)
    # Interfaces whose file holds route lines (written from ``routes``).
    route_lines: set[str] = field(default_factory=set)


KEPT = "is not modelled: the host keeps it unmanaged"
NO_SETTINGS = "has no settings (the OS only creates the interface): the host keeps it unmanaged"
COMMENT = "is a comment: a deploy rewrites this file without it"


def content_lines(text: str) -> list[tuple[int, str]]:
    """(line number, stripped text) of every line but blanks and bsdprov's own header."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and stripped != MANAGED_HEADER:
            found.append((number, stripped))
    return found


def words_of(text: str) -> list[str] | None:
    """The words of an ifconfig line as sh splits them; None when sh quoting is unbalanced."""
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return None


def prefix_of_netmask(mask: str) -> int | None:
    """``255.255.255.0`` or ``0xffffff00`` (ifconfig(8) takes both) to 24; None if not a mask."""
    try:
        value = int(mask, 16) if mask.lower().startswith("0x") else int(ipaddress.IPv4Address(mask))
    except ValueError:
        return None
    bits = f"{value:032b}"
    return bits.count("1") if "01" not in bits else None


def ipv4_with_mask(address: str, mask: str | None) -> str | None:
    """``A`` plus a netmask, or ``A/len``, as the inventory's ``A/len``; None if unreadable."""
    try:
        if mask is None:
            if "/" not in address:
                return None
            return str(ipaddress.IPv4Interface(address))
        prefix = prefix_of_netmask(mask)
        if prefix is None:
            return None
        return str(ipaddress.IPv4Interface(f"{address}/{prefix}"))
    except ValueError:
        return None


def ipv6_with_prefix(address: str, prefix: str | None) -> str | None:
    try:
        if prefix is None:
            return str(ipaddress.IPv6Interface(address)) if "/" in address else None
        if not prefix.isdigit():
            return None
        return str(ipaddress.IPv6Interface(f"{address}/{int(prefix)}"))
    except ValueError:
        return None


def is_ip(text: str, version: int | None = None) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return version is None or address.version == version


def is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text)
    except ValueError:
        return False
    return "/" in text


def scoped(gateway: str) -> tuple[str, str | None]:
    """``fe80::1%vio0`` to ("fe80::1", "vio0"); a gateway without a scope has no interface."""
    address, _, scope = gateway.partition("%")
    return address, scope or None


def route_entry(to: str, via: str, interface: str | None = None, onlink: bool = False) -> Entry:
    entry: Entry = {"to": to, "via": via}
    if onlink:
        entry["onlink"] = True
    if interface:
        entry["interface"] = interface
    return entry


def add_address(itf: Entry, address: str) -> None:
    itf.setdefault("addresses", []).append(address)


def assignment_lines(text: str) -> dict[str, int]:
    """The line of each ``name=`` assignment of an sh-sourced file (the last one wins, as in
    sh)."""
    found: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=", line)
        if match:
            found[match.group(1)] = number
    return found
