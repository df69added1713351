"""The ownership record: what bsdprov wrote on a host, and what to remove once the inventory
drops it.

A host keeps one record, ``/var/db/bsdprov/owned``: a line per thing bsdprov put there that a
deploy removes once dropped (an interface's file, an interface's or a route's rc.conf key, a
word of a shared list, a sysctl.conf or dhcpcd.conf line, an interface, an address, a bridge
member, a route, a default route; ``_recorded``). A deploy installs the
new record with its other files, so the transaction backs it up and a rollback restores it;
the probe reads it (and the files it names) in its one exec.

Planning compares the host's record with the new one. What the record has and the new one
lacks is removed, from the files (``claim`` extends the rendering: a file bsdprov no longer
writes, a key, a line) and from the running system (``Removal``: each with its own commands,
run before the activation steps). What no record names is never removed: a host deployed
before the record existed starts one with its next deploy that changes something, and an
``/etc/hostname.em2`` bsdprov never wrote stays, noted as unmanaged.

Only what the inventory configures item by item is removed. What bsdprov stops managing
(``routes`` left out) is released: left as it is on the host and dropped from the record, with
a note; the host name and a hypervisor's services are never recorded.

Pure: values in, values out.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import ip_address, ip_network

from bsdprov.facts import ObservedFile
from bsdprov.model import Host, kind_of
from bsdprov.plan import FileChange, Plan, Removal
from bsdprov.render import file_content
from bsdprov.render.base import (
    KIND_ORDER,
    FileSpec,
    LineEdit,
    OwnedGlob,
    Rendered,
    Step,
    VarsEdit,
    WordList,
    link_routes,
)
from bsdprov.render.hypervisor import FORWARDING, SYSCTL_APPLY, SYSCTL_CONF
from bsdprov.render.lines import line_key
from bsdprov.render.netbsd import DHCPCD_CONF

RECORD = "/var/db/bsdprov/owned"
HEADER = "# bsdprov ownership record 1: what bsdprov wrote on this host (do not edit)"
# The files that name the host's other interfaces: listed (never read) by the probe, so the
# plan can say that one bsdprov did not write stays.
INTERFACE_FILES = {"openbsd": "/etc/hostname.*", "netbsd": "/etc/ifconfig.*"}

Item = tuple[str, ...]
# Kind -> number of words after it (None: at least 3, the last ones one key with spaces).
ARITY: dict[str, int | None] = {
    "file": 1,
    "var": 2,
    "word": 3,
    "line": None,
    "interface": 1,
    "address": 3,
    "member": 2,
    "route": 2,
    "gateway": 2,
    "default": 1,
}
NAME_RE = re.compile(r"[a-z]+[0-9]+")
KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The record is read from the host: a path it names must be one bsdprov writes under /etc.
PATH_RE = re.compile(r"/etc/[A-Za-z0-9._/-]+")
# The files whose keys, words and lines the record names: the only ones a removal edits. Any
# other path (a tampered "var /etc/master.passwd ifconfig_em0") would be rewritten with the
# edit's mode, 0644 (facts.probe_script reads no other either).
EDITED = {"var": ("/etc/rc.conf",), "word": ("/etc/rc.conf",), "line": (SYSCTL_CONF, DHCPCD_CONF)}

# The rc.conf keys that configure one interface (FreeBSD network.subr) or the routes
# (rc.d/routing; NetBSD's defaultroute): removed when the inventory drops what set them.
INTERFACE_KEY_RE = re.compile(r"(?:ifconfig|create_args|vlans)_[a-z]+[0-9]+(?:_[A-Za-z0-9_]+)?")
ROUTE_KEY_RE = re.compile(r"(?:ipv6_)?(?:route_[A-Za-z0-9_]+|defaultrouter)|defaultroute6?")
# The OS default of each sysctl bsdprov writes, set again when its line goes: 0 in every
# kernel (OpenBSD netinet/ip_input.c ip_forwarding, netinet6/ip6_input.c ip6_forwarding,
# netinet/ip_gre.c gre_allow, netinet/ip_ether.c etherip_allow).
# A forwarding family left out of the inventory is not managed (docs/inventory.md), as on
# FreeBSD, whose gateway_enable is never recorded: its line is released, left as it is, never
# turned off under a router's traffic (``forwarding: {inet: false}`` turns it off). The
# tunnels' sysctls go with the last tunnel that needed them.
RELEASED_SYSCTLS = frozenset(name for _, name in FORWARDING)
SYSCTL_DEFAULTS = {
    "net.inet.ip.forwarding": "0",
    "net.inet6.ip6.forwarding": "0",
    "net.inet.gre.allow": "0",
    "net.inet.etherip.allow": "0",
}


# --- the record -------------------------------------------------------------------------------


def owned_items(host: Host, rendered: Rendered) -> frozenset[Item]:
    """What a deploy of ``rendered`` makes bsdprov's on the host."""
    items: set[Item] = set()
    for spec in rendered.files:
        if isinstance(spec, FileSpec):
            items.add(("file", spec.path))
        elif isinstance(spec, VarsEdit):
            for key, value in spec.assign:
                if isinstance(value, WordList):
                    items |= {("word", spec.path, key, word) for word in value.words}
                else:
                    items.add(("var", spec.path, key))
        else:
            separator = spec.separator or "-"
            items |= {
                ("line", spec.path, separator, line_key(line, spec.separator))
                for line in spec.lines
            }
    for name, itf in host.interfaces.items():
        items.add(("interface", name))
        items |= {("address", name, _family(a.version), str(a.ip)) for a in itf.addresses}
        items |= {("member", name, member) for member in itf.members}
    if host.routes is not None:
        for route in host.routes:
            version = str(route.version)
            if route.is_default:
                items.add(("default", version))
            else:
                items.add(("route", version, str(route.to)))
        for name in host.interfaces:
            items |= {("gateway", str(r.version), str(r.via)) for r in link_routes(host, name)}
    return frozenset(item for item in items if _recorded(item))


def record_text(items: Iterable[Item]) -> str:
    return "\n".join([HEADER, *(" ".join(item) for item in sorted(items))]) + "\n"


def parse_record(text: str | None) -> frozenset[Item]:
    """The items of a host's record (None: it has none). A line that is not one bsdprov
    writes is skipped: the record only ever allows removing what it names correctly."""
    items: set[Item] = set()
    for line in (text or "").splitlines():
        words = line.split(" ")
        if not words or words[0] not in ARITY:
            continue
        arity = ARITY[words[0]]
        if arity is None:
            if len(words) < 4:
                continue
            words = [*words[:3], " ".join(words[3:])]
        elif len(words) != arity + 1:
            continue
        item = tuple(words)
        if _valid(item) and _recorded(item):
            items.add(item)
    return frozenset(items)


def _valid(item: Item) -> bool:
    kind, *args = item
    try:
        if kind in ("file", "var", "word", "line") and not PATH_RE.fullmatch(args[0]):
            return False
        if kind in EDITED and args[0] not in EDITED[kind]:
            return False
        if ".." in args[0]:
            return False
        if kind in ("var", "word"):
            return bool(KEY_RE.fullmatch(args[1])) and (kind == "var" or _word(args[2]))
        if kind == "line":
            return args[1] in ("=", "-") and _word(args[2].replace(" ", ""))
        if kind in ("interface", "member"):
            return all(NAME_RE.fullmatch(a) for a in args)
        if kind == "address":
            return (
                bool(NAME_RE.fullmatch(args[0]))
                and args[1] in ("inet", "inet6")
                and ip_address(args[2]).version == (6 if args[1] == "inet6" else 4)
            )
        if kind in ("route", "gateway", "default"):
            if args[0] not in ("4", "6"):
                return False
            if kind == "route":
                return ip_network(args[1], strict=False).version == int(args[0])
            if kind == "gateway":
                return ip_address(args[1]).version == int(args[0])
        return True
    except ValueError:
        return False


def _word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9._:,=+-]+", text))


# --- what goes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """The rendering extended with the files' removals, the running system's removals, and
    notes (what is released, what stays unmanaged)."""

    rendered: Rendered
    record: str
    removals: tuple[Removal, ...] = ()
    notes: tuple[str, ...] = ()


def claim(
    host: Host,
    rendered: Rendered,
    observed: Mapping[str, ObservedFile],
    listed: Iterable[str] = (),
    hold: Iterable[str] = (),
) -> Claim:
    """Compare the host's record (in ``observed``) with what ``rendered`` owns: extend the
    rendering with the removal of owned lines and files no longer wanted, and plan the
    running system's removals. ``listed`` are the host's interface files (the probe's
    ``INTERFACE_FILES``), for the unmanaged note; ``hold`` the paths the deploy leaves as they
    are (``PlanOptions.hold``): what their interface had stays, and stays recorded."""
    found = observed.get(RECORD)
    old = parse_record(found.content if found else None)
    # A line the file already has and the record does not name is the admin's (a
    # net.inet.gre.allow=1 for an own tunnel): bsdprov sets it, and never removes it.
    new = frozenset(
        item
        for item in owned_items(host, rendered)
        if item[0] != "line" or item in old or not _has_line(observed, item)
    )
    held = {
        p.rsplit(".", 1)[-1] for p in hold if p.startswith(("/etc/hostname.", "/etc/ifconfig."))
    }
    new |= {i for i in old if i[0] in ("address", "member") and i[1] in held}
    gone = old - new
    removable = {item for item in gone if _removable(item, host)}
    # A file an owned pattern covers (a VM's pf anchor) is removed by the plan itself.
    patterns = [glob.pattern for glob in rendered.owned_globs]
    notes = [
        f"{_describe(item)}: no longer managed, left as it is on the host"
        for item in sorted(gone - removable)
        if item[0] == "var"
        or item[0] == "line"
        or item[0] == "file"
        and not any(fnmatch.fnmatchcase(item[1], p) for p in patterns)
    ]
    rendered = _without_files(rendered, removable, observed)
    removals = _live_removals(rendered.os, removable, new)
    written = {item[1] for item in old if item[0] == "file"}
    rendered_paths = {spec.path for spec in rendered.files}
    notes += [
        f"{path} is unmanaged (not in bsdprov's ownership record): left as it is"
        for path in sorted(set(listed))
        if path not in written and path not in rendered_paths
    ]
    if (found is None or found.content is None) and (removals or _changes(rendered, observed)):
        notes.append(
            f"no ownership record on the host yet ({RECORD}): nothing is removed that it does "
            "not name; the next deploy that changes something starts it"
        )
    return Claim(rendered, record_text(new), tuple(removals), tuple(notes))


def _has_line(observed: Mapping[str, ObservedFile], item: Item) -> bool:
    """Whether the host's file already has a (non-comment) line with ``item``'s key."""
    found = observed.get(item[1])
    separator = None if item[2] == "-" else item[2]
    return any(
        line_key(line, separator) == item[3]
        for line in (found.content if found and found.content else "").splitlines()
        if not line.lstrip().startswith("#")
    )


def _changes(rendered: Rendered, observed: Mapping[str, ObservedFile]) -> bool:
    """Whether any rendered file's content differs from the host's (the no-record note is
    for a deploy that will start the record)."""
    return any(
        file_content(spec, observed.get(spec.path, ObservedFile(spec.path, None)).content)
        != observed.get(spec.path, ObservedFile(spec.path, None)).content
        for spec in rendered.files
    )


def with_record(plan: Plan, claimed: Claim, observed: Mapping[str, ObservedFile]) -> Plan:
    """``plan`` with the removals' commands first and, when the deploy changes a file, the new
    record installed with the other files (a record-only difference deploys nothing, and a
    repair of live drift alone installs no file)."""
    steps = tuple(s for r in claimed.removals for s in r.steps)
    plan = dataclasses.replace(
        plan,
        steps=steps + plan.steps,
        removals=claimed.removals,
        notes=plan.notes + claimed.notes,
    )
    before = observed.get(RECORD, ObservedFile(RECORD, None))
    if not (plan.changes or plan.prepare or plan.makes or claimed.removals):
        return plan
    if (before.content, before.mode, before.owner) == (claimed.record, 0o600, "root"):
        return plan
    record = FileChange(RECORD, before, claimed.record, 0o600, "root", "wheel")
    return dataclasses.replace(plan, changes=(*plan.changes, record))


def _recorded(item: Item) -> bool:
    """Whether the record keeps ``item``: what a deploy removes once the inventory drops it.
    The rest (a hypervisor's vm.conf, pf and dhcpd files, rc.conf.local's daemons, the host
    name) is only ever released, so it stays out of the record, which then changes only with
    what it is for."""
    kind = item[0]
    if kind == "file":
        return bool(re.fullmatch(r"/etc/(?:hostname|ifconfig)\.[a-z]+[0-9]+", item[1]))
    if kind == "var":
        return bool(INTERFACE_KEY_RE.fullmatch(item[2]) or ROUTE_KEY_RE.fullmatch(item[2]))
    if kind == "word":
        return item[2] in ("cloned_interfaces", "static_routes", "ipv6_static_routes")
    if kind == "line":
        # Only the sysctls bsdprov writes: a tampered "kern.securelevel" line is not removed
        # (nor set to 0).
        if item[1] == SYSCTL_CONF:
            return item[3] in SYSCTL_DEFAULTS
        return item[3].startswith("denyinterfaces ")
    return kind in ("interface", "address", "member", "route", "gateway", "default")


def _removable(item: Item, host: Host) -> bool:
    """Whether a dropped item is removed (else released: left on the host): routes left out
    of the inventory (unmanaged, not ``routes: []``) are released with their keys."""
    if not _recorded(item):
        return False
    if item[0] in ("route", "gateway", "default", "word") and item[2:3] != ("cloned_interfaces",):
        return host.routes is not None
    if item[0] == "var" and ROUTE_KEY_RE.fullmatch(item[2]):
        return host.routes is not None
    return not (item[0] == "line" and item[3] in RELEASED_SYSCTLS)


def _describe(item: Item) -> str:
    kind = item[0]
    if kind == "file":
        return item[1]
    if kind == "line":
        return f"{item[1]}'s {item[3]}"
    if kind == "var":
        return f"{item[1]} {item[2]}"
    return " ".join(item)


def _without_files(
    rendered: Rendered, gone: set[Item], observed: Mapping[str, ObservedFile]
) -> Rendered:
    """``rendered`` that also removes the dropped files, keys, list words and lines."""
    files = list(rendered.files)
    globs = list(rendered.owned_globs)
    for item in sorted(i for i in gone if i[0] == "file"):
        globs.append(OwnedGlob(item[1]))
    keys: dict[str, list[str]] = {}
    words: dict[tuple[str, str], list[str]] = {}
    lines: dict[tuple[str, str], list[str]] = {}
    for item in sorted(gone):
        if item[0] == "var":
            keys.setdefault(item[1], []).append(item[2])
        elif item[0] == "word":
            words.setdefault((item[1], item[2]), []).append(item[3])
        elif item[0] == "line":
            lines.setdefault((item[1], item[2]), []).append(item[3])
    for path in sorted({p for p in keys} | {p for p, _ in words}):
        exists = observed.get(path, ObservedFile(path, None)).content is not None
        i = next((n for n, s in enumerate(files) if s.path == path), None)
        edit = files[i] if i is not None else None
        if not isinstance(edit, VarsEdit):
            if edit is not None or not exists:
                continue
            edit = VarsEdit(path, ())
        assign = list(edit.assign)
        for (p, key), dropped in sorted(words.items()):
            if p != path:
                continue
            j = next((n for n, (k, _) in enumerate(assign) if k == key), None)
            value = assign[j][1] if j is not None else WordList(())
            if not isinstance(value, WordList):
                continue
            value = dataclasses.replace(value, owned_words=(*value.owned_words, *dropped))
            if j is None:
                assign.append((key, value))
            else:
                assign[j] = (key, value)
        edit = dataclasses.replace(
            edit, assign=tuple(assign), remove=(*edit.remove, *keys.get(path, ()))
        )
        if i is None:
            files.append(edit)
        else:
            files[i] = edit
    for (path, separator), dropped in sorted(lines.items()):
        exists = observed.get(path, ObservedFile(path, None)).content is not None
        i = next((n for n, s in enumerate(files) if s.path == path), None)
        edit = files[i] if i is not None else None
        sep = None if separator == "-" else separator
        if not isinstance(edit, LineEdit):
            if edit is not None or not exists:
                continue
            edit = LineEdit(path, (), sep)
        if edit.separator != sep:
            continue
        edit = dataclasses.replace(edit, remove=(*edit.remove, *dropped))
        if i is None:
            files.append(edit)
        else:
            files[i] = edit
    return dataclasses.replace(rendered, files=tuple(files), owned_globs=tuple(globs))


# --- the running system -------------------------------------------------------------------------


def _live_removals(os: str, gone: set[Item], new: frozenset[Item]) -> list[Removal]:
    """Each dropped item's own commands, in an order that works: bridge members, routes,
    default routes, addresses, then interfaces (the last configured first), then sysctls."""
    commands = COMMANDS[os]
    kept = {item[1] for item in new if item[0] == "interface"}
    dropped = sorted((item[1] for item in gone if item[0] == "interface"), key=_order, reverse=True)
    found: list[Removal] = []
    for item in sorted(i for i in gone if i[0] == "member"):
        bridge, member = item[1], item[2]
        if bridge in kept:
            found.append(
                _removal(f"bridge member {member} of {bridge}", commands.member(bridge, member))
            )
    for item in sorted(i for i in gone if i[0] in ("route", "gateway")):
        version, target = int(item[1]), item[2]
        # A destination (or gateway host route) the inventory still has is replaced by the
        # activation steps; deleting it here would only lose it for longer.
        if any(n[0] == item[0] and n[2] == target for n in new):
            continue
        kind = "-host" if item[0] == "gateway" else "-net"
        what = f"route to {target}" if kind == "-net" else f"host route to gateway {target}"
        found.append(_removal(what, commands.route(version, kind, target)))
    for item in sorted(i for i in gone if i[0] == "default"):
        version = int(item[1])
        found.append(_removal(f"IPv{version} default route", commands.route(version, "", "")))
    for item in sorted(i for i in gone if i[0] == "address"):
        name, family, address = item[1], item[2], item[3]
        if name in kept or kind_of(name) == "physical":
            found.append(
                _removal(f"address {address} on {name}", commands.address(name, family, address))
            )
    for name in dropped:
        if kind_of(name) == "physical":
            argv: tuple[str, ...] = ("ifconfig", name, "down")
            found.append(_removal(f"interface {name} (down, as at boot without its file)", (argv,)))
        else:
            found.append(_removal(f"interface {name}", (("ifconfig", name, "destroy"),)))
    for item in sorted(i for i in gone if i[0] == "line" and i[1] == SYSCTL_CONF):
        name = item[3]
        value = SYSCTL_DEFAULTS.get(name, "0")
        found.append(
            _removal(
                f"sysctl {name} (back to the OS default, {value})",
                (("sh", SYSCTL_APPLY, f"{name}={value}"),),
            )
        )
    return found


def session_address_removal(
    removals: Iterable[Removal], observed: Mapping[str, ObservedFile], address: str
) -> str | None:
    """The interface a removal takes ``address`` (the one bsdprov connects through) from: its
    own delete, or the destroy or down of the interface the record put it on. The live check
    (``drift.session_address_owner``) sees only the interfaces the inventory still declares."""
    try:
        wanted = ip_address(address)
    except ValueError:
        return None  # a DNS name
    found = observed.get(RECORD)
    carriers = {
        item[1]
        for item in parse_record(found.content if found else None)
        if item[0] == "address" and ip_address(item[3]) == wanted
    }
    for removal in removals:
        for argv in (step.argv for step in removal.steps):
            if argv[:1] != ("ifconfig",) or len(argv) < 3:
                continue
            if argv[2:] in (("destroy",), ("down",)) and argv[1] in carriers:
                return argv[1]
            if len(argv) == 5 and argv[2] in ("inet", "inet6") and ip_address(argv[3]) == wanted:
                return argv[1]
    return None


def _removal(what: str, commands: tuple[tuple[str, ...], ...]) -> Removal:
    # May fail: the thing may already be gone (by hand, or with what went before it), which
    # is the state wanted; the verify checks judge the result.
    return Removal(what, tuple(Step(argv, f"removed: {what}", True) for argv in commands))


def _order(name: str) -> tuple[int, str, int]:
    driver = name.rstrip("0123456789")
    return (KIND_ORDER.get(kind_of(name), 0), driver, int(name[len(driver) :] or 0))


def _family(version: int) -> str:
    return "inet6" if version == 6 else "inet"


@dataclass(frozen=True, slots=True)
class Commands:
    """One OS's commands that remove a bridge member, a route, an address."""

    route_words: tuple[str, ...]
    member_words: tuple[str, ...]
    delete_address: str

    def route(self, version: int, kind: str, target: str) -> tuple[tuple[str, ...], ...]:
        family = ("-inet6",) if version == 6 else ("-inet",)
        if not target:
            # As the renderers' own default route deletes: IPv4 is route(8)'s default family.
            return ((*self.route_words, *(family if version == 6 else ()), "default"),)
        return ((*self.route_words, *family, kind, target),)

    def member(self, bridge: str, member: str) -> tuple[tuple[str, ...], ...]:
        words = tuple(w.replace("{bridge}", bridge) for w in self.member_words)
        return ((*words, member),)

    def address(self, name: str, family: str, address: str) -> tuple[tuple[str, ...], ...]:
        return (("ifconfig", name, family, address, self.delete_address),)


COMMANDS = {
    # route(8) delete; ifconfig(8) "delete" (OpenBSD) / "-alias" (FreeBSD, NetBSD) removes one
    # address and leaves the others; OpenBSD ifconfig "del", FreeBSD ifconfig "deletem",
    # NetBSD brconfig(8) "delete" take one member out of a bridge.
    "openbsd": Commands(("route", "-qn", "delete"), ("ifconfig", "{bridge}", "del"), "delete"),
    "freebsd": Commands(("route", "-n", "delete"), ("ifconfig", "{bridge}", "deletem"), "-alias"),
    "netbsd": Commands(("route", "-q", "delete"), ("brconfig", "{bridge}", "delete"), "-alias"),
}

__all__ = [
    "INTERFACE_FILES",
    "RECORD",
    "Claim",
    "claim",
    "owned_items",
    "parse_record",
    "record_text",
    "session_address_removal",
    "with_record",
]
