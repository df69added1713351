"""Load a YAML inventory into the model, reporting every problem with its file and line.

Pure: ``parse_inventory`` takes the text and a name for messages; only ``load_inventory`` reads
a file. Every problem found is reported in one ``InventoryError``, sorted by line.
"""

from __future__ import annotations

import contextvars
import difflib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError
from pydantic_core import ErrorDetails

from bsdprov.bhyve import check_bhyve_host
from bsdprov.errors import InventoryError, Problem
from bsdprov.model import (
    HOST_NAME_RE,
    INHERITABLE_KEYS,
    POINT_TO_POINT_KINDS,
    FirewallRule,
    Host,
    Interface,
    Strict,
    connected_interface,
    disk_dir_problem,
    is_link_local,
    kind_of,
    link_route_interface,
)
from bsdprov.render.netbsd import bridge_mtu_problem as netbsd_bridge_mtu_problem
from bsdprov.render.netbsd import release_problem as netbsd_release_problem
from bsdprov.vmd import Guest, guest_problems, guests_of

Path_ = tuple[str | int, ...]


class Vars(Strict):
    """Keys allowed under ``defaults`` and a group's ``vars``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str | None = None
    port: StrictInt | None = None
    become: str | None = None
    os: str | None = None
    release: str | None = None
    via: str | None = None
    ssh_config: str | None = None


class Group(Strict):
    hosts: tuple[str, ...] = ()
    vars: Vars = Vars()


class TopLevel(Strict):
    defaults: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    hosts: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Inventory:
    """A validated inventory: hosts by name (in file order) and group memberships."""

    source: str
    hosts: Mapping[str, Host]
    groups: Mapping[str, tuple[str, ...]]

    def guests(self, name: str) -> tuple[Guest, ...]:
        """The VMs of hypervisor ``name``, resolved (empty for any other host)."""
        return guests_of(self.hosts, name) if self.hosts[name].is_hypervisor else ()

    def select(self, name: str) -> Host:
        """Return the host called ``name`` or raise an ``InventoryError`` with suggestions."""
        if name in self.hosts:
            return self.hosts[name]
        raise InventoryError(
            [Problem(self.source, None, "", f"no host {name!r}{_did_you_mean(name, self.hosts)}")]
        )


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate the inventory at ``path``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InventoryError([Problem(str(path), None, "", _too_big(size))])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(
            [Problem(str(path), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise InventoryError([Problem(str(path), None, "", "is not UTF-8 text")]) from None
    return parse_inventory(text, str(path))


def parse_inventory(text: str, source: str) -> Inventory:
    """Validate inventory ``text``; ``source`` names it in messages."""
    return contextvars.copy_context().run(_parse_inventory, text, source)


def _parse_inventory(text: str, source: str) -> Inventory:
    _suggestions_left.set(SUGGESTION_BUDGET)  # each parse has its own budget
    data, lines = _parse_yaml(text, source)
    report = _Report(source, lines)
    if isinstance(data, dict):
        for key in data.keys() - TopLevel.model_fields.keys():
            report.add((key,), f"unknown key {key!r}{_did_you_mean(key, TopLevel.model_fields)}")
        data = {key: value for key, value in data.items() if key in TopLevel.model_fields}
    top = _validate(TopLevel, data if data is not None else {}, (), report)
    if top is None:
        raise InventoryError(report.sorted())

    defaults = _validate(Vars, top.defaults, ("defaults",), report)
    groups: dict[str, Group] = {}
    for name, raw in top.groups.items():
        group = _validate(Group, raw if raw is not None else {}, ("groups", name), report)
        if group is not None:
            groups[name] = group
            for i, member in enumerate(group.hosts):
                if member not in top.hosts:
                    report.add(
                        ("groups", name, "hosts", i),
                        f"no host {member!r}{_did_you_mean(member, top.hosts)}",
                    )

    hosts: dict[str, Host] = {}
    for name, raw in top.hosts.items():
        if not HOST_NAME_RE.fullmatch(name):
            report.add(
                ("hosts", name),
                f"{name!r} is not a host name (letters, digits, "
                "'.', '_' and '-', starting with a letter or digit)",
            )
            continue
        host = _validate_host(name, raw, defaults, groups, report)
        if host is not None:
            hosts[name] = host
            own = raw if isinstance(raw, dict) else {}
            for path, message in check_host(host):
                report.add(_origin(name, own, path, defaults, groups), message)
    for name, at in _jump_host_problems(hosts, set(top.hosts)):
        raw = top.hosts[name]
        own = raw if isinstance(raw, dict) else {}
        report.add(_origin(name, own, ("via",), defaults, groups), at)
    for name, path, message in guest_problems(hosts):
        report.add(("hosts", name) + path, message)

    if report.problems:
        raise InventoryError(report.sorted())
    return Inventory(source, hosts, {name: g.hosts for name, g in groups.items()})


# --- YAML with line numbers -------------------------------------------------------------------


# Bounds on what an inventory may grow to once parsed. A real one is a few hundred lines; the
# bounds stop a "billion laughs" (nested aliases: 391 bytes grew to gigabytes), a recursive
# alias and deep nesting (both a RecursionError) before anything is built from the YAML.
MAX_BYTES = 4 << 20
MAX_DEPTH = 32
MAX_VALUES = 200_000


def _too_big(size: int) -> str:
    return f"is {size} bytes; an inventory may have at most {MAX_BYTES} (4 MiB)"


def _check_shape(text: str, source: str) -> None:
    """Refuse YAML whose size, nesting or alias expansion is out of bounds, from the parser's
    events (which need no recursion), with the line where it goes out of bounds."""
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_BYTES:
        raise InventoryError([Problem(source, None, "", _too_big(size))])
    # Per open collection: its anchor, its values so far (aliases expanded) and its height.
    open_: list[list[Any]] = []
    expanded: dict[str, tuple[int, int]] = {}  # anchor -> (values, height)
    total = 0

    def refuse(event: yaml.Event, message: str) -> None:
        mark = event.start_mark
        raise InventoryError([Problem(source, mark.line + 1 if mark else None, "", message)])

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_) >= MAX_DEPTH:
                refuse(event, f"nested deeper than {MAX_DEPTH} levels")
            open_.append([event.anchor, 1, 1])
            total += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, values, height = open_.pop()
            if anchor is not None:
                expanded[anchor] = (values, height)
            if open_:
                open_[-1][1] += values
                open_[-1][2] = max(open_[-1][2], height + 1)
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            values, height = 1, 0
            if isinstance(event, yaml.AliasEvent):
                if any(frame[0] == event.anchor for frame in open_):
                    refuse(event, f"alias *{event.anchor} refers to a value that contains it")
                values, height = expanded.get(event.anchor or "", (1, 0))
                if len(open_) + height > MAX_DEPTH:
                    refuse(event, f"alias *{event.anchor} nests deeper than {MAX_DEPTH} levels")
            elif event.anchor is not None:
                expanded[event.anchor] = (1, 0)
            total += values
            if open_:
                open_[-1][1] += values
                open_[-1][2] = max(open_[-1][2], height + 1)
        if total > MAX_VALUES:
            refuse(event, f"aliases expand the inventory to more than {MAX_VALUES} values")


def _parse_yaml(text: str, source: str) -> tuple[object, dict[Path_, int]]:
    """Compose ``text`` into plain Python data, remembering the line of every key and item."""
    try:
        _check_shape(text, source)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise InventoryError([Problem(source, line, "", f"invalid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise InventoryError([Problem(source, None, "", f"invalid YAML: {exc}")]) from None
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, path: Path_) -> object:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[object, object] = {}
            for key_node, value_node in node.value:
                key = build(key_node, path + ("<key>",))
                if not isinstance(key, str | int) or isinstance(key, bool):
                    problems.append(
                        Problem(
                            source,
                            key_node.start_mark.line + 1,
                            _dotted(path),
                            f"key {key!r} is not a name",
                        )
                    )
                    continue
                key = str(key)
                if key in result:
                    problems.append(
                        Problem(
                            source,
                            key_node.start_mark.line + 1,
                            _dotted(path + (key,)),
                            "key appears twice",
                        )
                    )
                    continue
                lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node)

    try:
        data = build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        # Construction errors (a bad timestamp, an unknown tag) come after composing.
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InventoryError([Problem(source, line, "", f"invalid YAML: {exc.problem}")]) from None
    if problems:
        raise InventoryError(problems)
    return data, lines


# --- schema validation ------------------------------------------------------------------------


class _Report:
    def __init__(self, source: str, lines: dict[Path_, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: dict[tuple[str, str], Problem] = {}

    def add(self, path: Path_, message: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                break
        problem = Problem(self.source, line, _dotted(path), message)
        self.problems.setdefault((problem.path, message), problem)

    def sorted(self) -> list[Problem]:
        return sorted(self.problems.values(), key=lambda p: (p.line or 0, p.path))


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# How many names one parse may compare for "did you mean" hints. difflib costs tens of
# microseconds a comparison, and a hostile inventory within the size bounds (thousands of
# group members naming none of thousands of hosts) asked for millions of them: minutes of CPU
# for one 'bsdprov check'. Past the budget, problems are still reported, without a hint.
SUGGESTION_BUDGET = 20_000
_suggestions_left: contextvars.ContextVar[int] = contextvars.ContextVar(
    "suggestions_left", default=SUGGESTION_BUDGET
)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    candidates = [c for c in choices if c != word]
    left = _suggestions_left.get()
    if len(candidates) > left:
        return ""
    _suggestions_left.set(left - len(candidates))
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


M = typing.TypeVar("M", bound=BaseModel)


def _validate(model: type[M], raw: object, at: Path_, report: _Report) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            path, message = _explain(model, error)
            report.add(at + path, message)
        return None


def _validate_host(
    name: str, raw: object, defaults: Vars | None, groups: dict[str, Group], report: _Report
) -> Host | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        report.add(("hosts", name), f"expected a mapping of keys, got {raw!r}")
        return None
    if "name" in raw:
        report.add(
            ("hosts", name, "name"), "the host's name is its key under 'hosts'; remove 'name'"
        )
        return None
    inherited = {key: value for key, (_, value) in _inherited(name, defaults, groups).items()}
    # An empty interface ("em0:") means "declared, nothing else", like an empty host.
    interfaces = raw.get("interfaces")
    if isinstance(interfaces, dict):
        raw = {**raw, "interfaces": {k: ({} if v is None else v) for k, v in interfaces.items()}}
    merged = {**inherited, **raw, "name": name}
    try:
        return Host.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors()
    for error in errors:
        path, message = _explain(Host, error)
        report.add(_origin(name, raw, path, defaults, groups), message)
    # A bad inherited value is reported once, where it is written; check the host's own keys
    # without it so their problems show in this same run.
    bad = {e["loc"][0] for e in errors if e["loc"] and e["loc"][0] in inherited.keys() - raw.keys()}
    if len(bad) == len({e["loc"][0] for e in errors if e["loc"]}):
        try:
            return Host.model_validate({k: v for k, v in merged.items() if k not in bad})
        except ValidationError:
            return None
    return None


def _inherited(
    host: str, defaults: Vars | None, groups: dict[str, Group]
) -> dict[str, tuple[Path_, object]]:
    """Inherited keys of one host, each with the path it came from (later groups win)."""
    found: dict[str, tuple[Path_, object]] = {}
    sources: list[tuple[Path_, Vars]] = [(("defaults",), defaults)] if defaults else []
    sources += [(("groups", g, "vars"), grp.vars) for g, grp in groups.items() if host in grp.hosts]
    for at, values in sources:
        for key in INHERITABLE_KEYS:
            if key in values.model_fields_set:
                found[key] = (at + (key,), getattr(values, key))
    return found


def _origin(
    host: str, own: Iterable[str], path: Path_, defaults: Vars | None, groups: dict[str, Group]
) -> Path_:
    """Where a problem with a host's key really lives: the host, a group or the defaults."""
    if path and isinstance(path[0], str) and path[0] not in own:
        inherited = _inherited(host, defaults, groups).get(path[0])
        if inherited is not None:
            return inherited[0] + path[1:]
    return ("hosts", host) + path


def _explain(model: type[BaseModel], error: ErrorDetails) -> tuple[Path_, str]:
    """Turn one pydantic error into (path, message) in bsdprov's words."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "bsdprov":
        return loc, str(ctx.get("message", error["msg"]))
    if kind == "extra_forbidden":
        known = _keys_at(model, loc[:-1])
        return loc, f"unknown key {loc[-1]!r}{_did_you_mean(str(loc[-1]), known)}"
    if kind == "missing":
        return loc[:-1], f"required key {loc[-1]!r} is missing"
    if kind == "literal_error":
        options = _keys_of_literal(str(ctx.get("expected", "")))
        hint = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        return loc, f"{value!r} is not one of {', '.join(map(repr, options))}{hint}"
    messages = {
        "int_type": "is not a whole number",
        "int_parsing": "is not a whole number",
        "int_from_float": "is not a whole number",
        "bool_type": "is not true or false",
        "string_type": "is not a string",
        "dict_type": "is not a mapping of keys",
        "model_type": "is not a mapping of keys",
        "model_attributes_type": "is not a mapping of keys",
        "tuple_type": "is not a list",
        "list_type": "is not a list",
        "string_pattern_mismatch": "is not a release number such as '7.6' or '14.1-RELEASE'",
    }
    if kind == "string_type" and loc and loc[-1] == "release":
        return loc, f'{value!r} is a number to YAML (7.10 reads as 7.1); quote it: release: "7.10"'
    if kind in messages:
        return loc, f"{value!r} {messages[kind]}"
    if kind == "greater_than_equal":
        return loc, f"{value!r} is too small (the least is {ctx.get('ge')})"
    if kind == "less_than_equal":
        return loc, f"{value!r} is too large (the most is {ctx.get('le')})"
    text = error["msg"]
    return loc, f"{value!r}: {text[:1].lower()}{text[1:]}"


def _keys_of_literal(expected: str) -> list[str]:
    return [word.strip(" '") for word in expected.replace(" or ", ",").split(",") if word.strip()]


def _keys_at(model: type[BaseModel], loc: Path_) -> list[str]:
    """The keys the schema allows at ``loc`` (for "did you mean" suggestions)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (tuple, list):
            current = typing.get_args(current)[0]
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [key for key in current.model_fields if key != "name"]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation


# --- facts that span fields ---------------------------------------------------------------------


def check_host(host: Host) -> list[tuple[Path_, str]]:
    """Problems no single field shows: references, families, reachability, OS support."""
    found: list[tuple[Path_, str]] = []
    names = list(host.interfaces)
    seen_addresses: dict[str, Path_] = {}
    bridged: dict[str, str] = {}
    for name, itf in host.interfaces.items():
        at: Path_ = ("interfaces", name)
        found += [(at + p, m) for p, m in _check_interface(host, name, itf, names)]
        for i, address in enumerate(itf.addresses):
            key = str(address.ip)
            if key in seen_addresses:
                found.append(
                    (at + ("addresses", i), f"{key!r} is also at {_dotted(seen_addresses[key])}")
                )
            seen_addresses.setdefault(key, at + ("addresses", i))
        for i, member in enumerate(itf.members):
            if member in bridged:
                found.append(
                    (at + ("members", i), f"{member!r} is already a member of {bridged[member]!r}")
                )
            bridged.setdefault(member, name)
    found += _check_hypervisor(host)
    found += check_bhyve_host(host)
    found += _check_firewall(host)
    if host.routes is not None:
        found += _check_routes(host)
        if host.os == "openbsd":
            found += _check_mygate_autoconf(host)
    return found


def _check_hypervisor(host: Host) -> list[tuple[Path_, str]]:
    """Switches, NAT and DHCP must name interfaces the host configures, as vmd and dhcpd need."""
    keys = [
        k
        for k in ("switches", "nat", "dhcp_server", "forwarding", "firewall", "vm_disk_dir")
        if k in host.model_fields_set
    ]
    if not keys:
        return []
    if host.vm_disk_dir is not None:
        if not host.switches:
            return [(("vm_disk_dir",), "only a vmd hypervisor (a host with 'switches') takes it")]
        problem = disk_dir_problem(host.vm_disk_dir)
        if problem:
            return [(("vm_disk_dir",), problem)]
    if host.os not in (None, "openbsd"):
        # A FreeBSD bhyve hypervisor takes forwarding (gateway_enable, render/bhyve.py).
        refused = [k for k in keys if not (k == "forwarding" and host.bhyve is not None)]
        return (
            [
                (
                    (refused[0],),
                    f"only OpenBSD vmd hypervisors take {refused[0]!r}; this host is {host.os}",
                )
            ]
            if refused
            else []
        )
    found: list[tuple[Path_, str]] = []
    if host.vm is not None and host.switches:
        found.append((("vm",), "a vmd hypervisor cannot itself be a VM of another one here"))
    for switch, bridge in host.switches.items():
        if kind_of(bridge) != "bridge" and not bridge.startswith("veb"):
            found.append(
                (
                    ("switches", switch),
                    f"{bridge!r} is not a bridge; vmd switches are bridgeN or vebN",
                )
            )
        elif bridge not in host.interfaces:
            found.append(
                (
                    ("switches", switch),
                    f"{bridge!r} is not among the host's interfaces; declare it with its members",
                )
            )
    for i, nat in enumerate(host.nat):
        if nat.out not in host.interfaces:
            found.append((("nat", i, "out"), f"{nat.out!r} is not among the host's interfaces"))
        if nat.source.version != 4:
            found.append((("nat", i, "from"), "NAT is for IPv4 segments; route IPv6 instead"))
    for ifname, server in host.dhcp_server.items():
        at: Path_ = ("dhcp_server", ifname)
        itf = host.interfaces.get(ifname)
        static = itf.static(4) if itf else ()
        if not static:
            found.append(
                (at, f"dhcpd serves only interfaces with an IPv4 address; give {ifname!r} one")
            )
            continue
        subnet = static[0].network
        low, high = server.range
        for i, end in enumerate((low, high)):
            if end.version != 4 or end not in subnet:
                found.append(
                    (at + ("range", i), f"{end} is outside {subnet}, the subnet of {ifname!r}")
                )
        if low.version == high.version == 4 and low > high:
            found.append((at + ("range",), f"the range starts at {low}, after its end {high}"))
        elif low.version == 4 and low <= static[0].ip <= high:  # type: ignore[operator]
            found.append(
                (at + ("range",), f"the range holds {ifname!r}'s own address {static[0].ip}")
            )
    return found


def _check_firewall(host: Host) -> list[tuple[Path_, str]]:
    """pf matches ports only with tcp or udp ("port only applies to tcp/udp", pfctl)."""
    rules: list[tuple[Path_, FirewallRule]] = []
    if host.vm is not None:
        rules += [(("vm", "firewall", i), r) for i, r in enumerate(host.vm.firewall or ())]
    if host.firewall is not None:
        rules += [(("firewall", "allow", i), r) for i, r in enumerate(host.firewall.allow)]
    return [
        (
            at + ("port",),
            "a port needs 'proto: tcp' or 'proto: udp'"
            if r.proto is None
            else f"'proto: {r.proto}' has no ports; leave 'port' out or use tcp or udp",
        )
        for at, r in rules
        if r.port and r.proto not in ("tcp", "udp")
    ]


def _check_mygate_autoconf(host: Host) -> list[tuple[Path_, str]]:
    """netstart skips mygate's lines of a family that any interface autoconfigures."""
    found: list[tuple[Path_, str]] = []
    for i, route in enumerate(host.routes or ()):
        if not route.is_default:
            continue
        key = "dhcp" if route.version == 4 else "autoconf6"
        auto = [n for n, itf in host.interfaces.items() if getattr(itf, key)]
        if auto:
            found.append(
                (
                    ("routes", i),
                    f"netstart ignores an IPv{route.version} default route "
                    f"in /etc/mygate while {auto[0]!r} has '{key}: true'; the default "
                    "comes from autoconfiguration there, so remove this route",
                )
            )
    return found


def _check_interface(
    host: Host, name: str, itf: Interface, names: list[str]
) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    kind = kind_of(name)
    if kind == "lo":
        return [((), "loopback interfaces are configured by the OS; remove it")]
    if host.os == "freebsd" and itf.up is False:
        found.append(
            (
                ("up",),
                "freebsd's rc.d/netif brings every configured interface up; "
                "leave the interface out of the inventory to leave it alone",
            )
        )
    if host.os == "freebsd" and kind == "vether":
        found.append(((), "freebsd has no vether interfaces; use a bridge address or epair"))
    if host.os == "netbsd" and host.release is not None:
        problem = netbsd_release_problem(name, host.release)
        if problem is not None:
            found.append(((), problem))
    if host.os == "netbsd" and kind == "bridge":
        for member in itf.members:
            problem = netbsd_bridge_mtu_problem(host, name, member)
            if problem is not None:
                found.append((("members",), problem))
    if host.os == "netbsd" and itf.autoconf6:
        found.append(
            (
                ("autoconf6",),
                "not supported on netbsd; 'dhcp: true' runs dhcpcd, "
                "which also does IPv6 autoconfiguration",
            )
        )
    if kind == "vlan":
        for key in ("parent", "vlan"):
            if getattr(itf, key) is None:
                found.append(((), f"a vlan interface needs {key!r}"))
    else:
        found += [
            ((key,), f"only vlan interfaces take {key!r}")
            for key in ("parent", "vlan")
            if getattr(itf, key) is not None
        ]
    if itf.parent is not None and (itf.parent == name or kind_of(itf.parent) == "bridge"):
        found.append(
            (
                ("parent",),
                f"{itf.parent!r} cannot carry a vlan; name the physical "
                "interface (or trunk) the tagged frames leave through",
            )
        )
    elif itf.parent is not None and itf.parent not in names:
        found.append(
            (
                ("parent",),
                f"{itf.parent!r} is not declared under this host's "
                f"interfaces{_did_you_mean(itf.parent, names)}",
            )
        )
    if itf.members and kind != "bridge":
        found.append((("members",), "only bridge interfaces take 'members'"))
    for i, member in enumerate(itf.members):
        if member == name or kind_of(member) == "bridge":
            found.append((("members", i), "a bridge cannot be a member of a bridge"))
        elif member not in names:
            found.append(
                (
                    ("members", i),
                    f"{member!r} is not declared under this host's "
                    f"interfaces{_did_you_mean(member, names)}",
                )
            )
    if itf.tunnel is not None:
        if kind not in ("gif", "gre"):
            found.append((("tunnel",), "only gif and gre interfaces take 'tunnel'"))
        elif itf.tunnel.local.version != itf.tunnel.remote.version:
            found.append((("tunnel", "remote"), "local and remote must be of one IP version"))
    if itf.peer is not None:
        if kind not in POINT_TO_POINT_KINDS:
            found.append((("peer",), "only point-to-point interfaces (gif, gre, tun) take 'peer'"))
        elif not itf.static(itf.peer.version):
            found.append((("peer",), f"needs an IPv{itf.peer.version} address on this interface"))
    if itf.dhcp and itf.static(4):
        found.append((("dhcp",), "'dhcp: true' and a static IPv4 address exclude each other"))
    if itf.mtu is not None and itf.mtu < 1280 and (itf.static(6) or itf.autoconf6):
        found.append((("mtu",), f"{itf.mtu} is below 1280, the least IPv6 allows"))
    for i, address in enumerate(itf.addresses):
        net = address.network
        if (
            address.version == 4
            and net.prefixlen <= 30
            and address.ip in (net.network_address, net.broadcast_address)
        ):
            edge = "network" if address.ip == net.network_address else "broadcast"
            found.append((("addresses", i), f"'{address}' is the {edge} address of {net}"))
    return found


def _check_routes(host: Host) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    defaults: dict[int, int] = {}
    targets: dict[str, int] = {}
    own = {str(a.ip) for itf in host.interfaces.values() for a in itf.addresses}
    for i, route in enumerate(host.routes or ()):
        at: Path_ = ("routes", i)
        family = f"IPv{route.version}"
        target = f"{route.to}/{family}"
        if target in targets:
            what = (
                f"a second {family} default route"
                if route.is_default
                else f"{str(route.to)!r} is already routed"
            )
            found.append((at + ("to",), f"{what}; the first is routes[{targets[target]}]"))
            continue
        targets.setdefault(target, i)
        if route.is_default:
            defaults.setdefault(route.version, i)
        elif route.to.version != route.version:  # type: ignore[union-attr]
            found.append((at + ("via",), f"an {family} gateway cannot route {route.to}"))
            continue
        if route.interface is not None and route.interface not in host.interfaces:
            found.append(
                (
                    at + ("interface",),
                    f"{route.interface!r} is not declared under this "
                    f"host's interfaces{_did_you_mean(route.interface, host.interfaces)}",
                )
            )
            continue
        if str(route.via) in own:
            found.append((at + ("via",), f"'{route.via}' is this host's own address"))
        elif is_link_local(route.via) and route.interface is None:
            found.append((at + ("via",), f"link-local gateway '{route.via}' needs 'interface'"))
        elif connected_interface(host, route) is None:
            found += [(at + p, m) for p, m in _check_onlink(host, route)]
    return found


def _check_onlink(host: Host, route: Any) -> list[tuple[Path_, str]]:
    if not route.onlink:
        return [
            (
                ("via",),
                f"gateway '{route.via}' is in no subnet of this host's interfaces; "
                "if the provider says it is on the link (a failover address), set 'onlink: true'",
            )
        ]
    name = link_route_interface(host, route)
    if name is None:
        with_addresses = [n for n, i in host.interfaces.items() if i.static(route.version)]
        return [
            (
                (),
                "an onlink gateway needs 'interface' when the host has not exactly one "
                f"interface with a static IPv{route.version} address (it has "
                f"{len(with_addresses)})",
            )
        ]
    if host.os == "netbsd" and not host.interfaces[name].static(route.version):
        return [
            (
                ("interface",),
                f"on netbsd the route to an onlink gateway leaves through the "
                f"interface's own address; give {name!r} a static IPv{route.version} address",
            )
        ]
    return []


def _jump_host_problems(hosts: dict[str, Host], declared: set[str]) -> list[tuple[str, str]]:
    """(host, message) for every ``via`` that names no host or closes a loop.

    A ``via`` naming a declared host that failed validation is not reported again: that host's
    own problems are.
    """
    found: list[tuple[str, str]] = []
    # Hosts whose chain of jump hosts is known to end without a loop: a walk that reaches one
    # stops there, so a long chain costs one walk, not one per host (that was cubic: a
    # 3000-host chain kept 'bsdprov check' busy for minutes).
    ends: set[str] = set()
    for name, host in hosts.items():
        if host.via is None or (host.via in declared and host.via not in hosts):
            continue
        if host.via not in hosts:
            found.append((name, f"no host {host.via!r}{_did_you_mean(host.via, hosts)}"))
            continue
        chain: dict[str, None] = {name: None}
        hop: str | None = host.via
        while hop is not None and hop not in chain and hop not in ends:
            chain[hop] = None
            hop = hosts[hop].via if hop in hosts else None
        if hop is not None and hop in chain:
            found.append((name, "jump hosts form a loop: " + " -> ".join([*chain, hop])))
        elif hop is None or hop in ends:
            ends.update(chain)
    return found
