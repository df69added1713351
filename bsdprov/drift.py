"""Live drift: the running system against what the inventory's files mean.

A host's files can stay as bsdprov wrote them while the running state moves away (an admin's
``route delete default``, an ``ifconfig em0 alias``). ``expected_live(host, rendered)`` turns the
model into the live facts its files produce once applied (pure), ``live_section`` is the
read-only part of the probe that shows them (one exec, the probe's), and ``compare`` tells which
facts drifted. Each ``Drift`` names the triggers (a path, or ``path#key``) whose activation
steps put it back, so a deploy re-runs exactly those (``plan.select_steps``).

Per OS, what a command prints (each ifconfig(8)/route(8) status output, as the lab's fakes
mimic them):
- addresses: ``inet A ...``/``inet6 A ...`` lines of ``ifconfig IF`` (NetBSD ``inet A/len``);
  link-local IPv6 (the kernel's own) and the families DHCP or autoconf fill are not compared;
- default and static routes: ``route -n get [-inet6] DEST`` (``destination:`` and
  ``gateway:`` lines; a missing static route resolves to another destination);
- bridge members: OpenBSD ``ifconfig bridgeN`` (``\\tMEMBER flags=``), FreeBSD ``ifconfig
  bridgeN`` (``member: MEMBER flags=``), NetBSD ``brconfig bridgeN`` (``\\t\\tMEMBER flags=``);
- vlan parents: OpenBSD ``encap: vnetid N parent P``, FreeBSD ``vlan: N ... parent interface:
  P``, NetBSD ``vlan: N parent: P``;
- sysctls of the managed ``/etc/sysctl.conf`` lines: ``sysctl -n NAME``;
- pf anchors of the rendered ``/etc/pf.vm/NAME.conf`` files: ``pfctl -a vm/NAME -s rules`` is
  not empty when the file has rules;
- VMs that should run: the rendering's verify checks (``vmctl status``, vm-bhyve ``vm list``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address

from bsdprov.model import Host, Route, route_interface
from bsdprov.render.base import (
    FileSpec,
    LineEdit,
    Rendered,
    Step,
    default_route,
    ordered_interfaces,
)
from bsdprov.render.bhyve import guest_conf
from bsdprov.render.hypervisor import VM_CONF
from bsdprov.render.openbsd import delayed_default

BEGIN, END = "drift-begin", "drift-end"
SYSCTL_CONF = "/etc/sysctl.conf"
ANCHOR_DIR = "/etc/pf.vm"


@dataclass(frozen=True, slots=True)
class Expected:
    """A fact the files produce: every regex of ``patterns`` matches a line of ``argv``'s
    output (searched line by line, as verify does)."""

    argv: tuple[str, ...]
    patterns: tuple[str, ...]
    what: str
    triggers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OnlyAddresses:
    """The addresses of ``interface`` (in ``families``) are exactly ``declared``: any other is
    drift (a hand-added alias)."""

    interface: str
    argv: tuple[str, ...]
    declared: frozenset[str]
    families: tuple[str, ...]
    triggers: tuple[str, ...]
    # The families whose extra addresses re-running the activation would leave, so every plan
    # would report them again: FreeBSD's netif restart keeps the inet6 addresses of an
    # interface rc.conf gives no IPv6 (network.subr ipv6_down returns early when ipv6if is
    # false). Those are deleted by name first. (NetBSD's inet6 is left alone: a router's
    # SLAAC addresses come back, and deleting them each deploy would fight the host.)
    delete_extra: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveSpec:
    expected: tuple[Expected, ...] = ()
    only: tuple[OnlyAddresses, ...] = ()

    @property
    def commands(self) -> tuple[tuple[str, ...], ...]:
        """Each read command once, in a fixed order."""
        found = [e.argv for e in self.expected] + [o.argv for o in self.only]
        return tuple(dict.fromkeys(found))


Command = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Drift:
    """One way the running system differs from the files, and what repairs it."""

    what: str
    triggers: tuple[str, ...]
    # Commands run before the triggered activation (may fail: the state may be gone already).
    steps: tuple[Step, ...] = ()


# --- what the files mean -----------------------------------------------------------------------


def _escape(value: str) -> str:
    return re.escape(value)


def interface_triggers(os: str, name: str) -> tuple[str, ...]:
    """What configures ``name``: the change that makes a deploy re-run its activation."""
    if os == "openbsd":
        return (f"/etc/hostname.{name}",)
    if os == "freebsd":
        return (f"/etc/rc.conf#ifconfig_{name}",)
    return (f"/etc/ifconfig.{name}",)


def default_triggers(os: str, host: Host, route: Route) -> tuple[str, ...]:
    if os == "openbsd":
        # A default through a tunnel is added by the tunnel's hostname.if, not by mygate.
        delayed = delayed_default(host, route)
        return (f"/etc/hostname.{delayed}",) if delayed else ("/etc/mygate",)
    if os == "freebsd":
        return (f"/etc/rc.conf#{'ipv6_' if route.version == 6 else ''}defaultrouter",)
    return (f"/etc/rc.conf#defaultroute{'6' if route.version == 6 else ''}",)


def route_triggers(os: str, host: Host, route: Route) -> tuple[str, ...]:
    if os == "freebsd":
        return (f"/etc/rc.conf#{'ipv6_' if route.version == 6 else ''}static_routes",)
    name = route_interface(host, route)
    return interface_triggers(os, name) if name else ()


def _gateway_pattern(via: str) -> str:
    return f"gateway: {_escape(via)}( |%|$)"


def expected_live(host: Host, rendered: Rendered) -> LiveSpec:
    """The running state ``rendered``'s files produce once applied (pure)."""
    os = rendered.os
    expected: list[Expected] = []
    only: list[OnlyAddresses] = []
    slash = os == "netbsd"
    for name, itf in ordered_interfaces(host):
        show = ("ifconfig", name)
        triggers = interface_triggers(os, name)
        for address in itf.addresses:
            family = "inet6" if address.version == 6 else "inet"
            end = "[/ ]" if slash else "[ %]"
            expected.append(
                Expected(
                    show,
                    (f"^\\s*{family} {_escape(str(address.ip))}{end}",),
                    f"address {address} on {name}",
                    triggers,
                )
            )
        families = tuple(
            f for f, dynamic in (("inet", itf.dhcp), ("inet6", itf.autoconf6)) if not dynamic
        )
        if families:
            declared = frozenset(str(a.ip) for a in itf.addresses)
            no_inet6 = os == "freebsd" and not any(a.version == 6 for a in itf.addresses)
            delete_extra = ("inet6",) if no_inet6 else ()
            only.append(OnlyAddresses(name, show, declared, families, triggers, delete_extra))
        if itf.parent is not None and itf.vlan is not None:
            parent = _escape(itf.parent)
            pattern = {
                "openbsd": f"encap: vnetid {itf.vlan} parent {parent}( |$)",
                "freebsd": f"vlan: {itf.vlan} .*parent interface: {parent}( |$)",
                "netbsd": f"vlan: {itf.vlan} parent: {parent}( |$)",
            }[os]
            vlan_triggers = triggers
            if os == "freebsd":
                # A vlan is made by its parent's vlans_ key (childif_create), with its tag.
                vlan_triggers += (
                    f"/etc/rc.conf#vlans_{itf.parent}",
                    f"/etc/rc.conf#create_args_{name}",
                )
            expected.append(
                Expected(show, (pattern,), f"vlan {name} on {itf.parent}", vlan_triggers)
            )
        for member in itf.members:
            argv, pattern = {
                "openbsd": (show, f"^\\s+{_escape(member)} flags="),
                "freebsd": (show, f"^\\s+member: {_escape(member)} flags="),
                "netbsd": (("brconfig", name), f"^\\s+{_escape(member)} flags="),
            }[os]
            expected.append(Expected(argv, (pattern,), f"{member} in bridge {name}", triggers))
    if host.routes is not None:
        for version in (4, 6):
            route = default_route(host, version)
            if route is None:
                continue
            flag = ("-inet6",) if version == 6 else ()
            expected.append(
                Expected(
                    ("route", "-n", "get", *flag, "default"),
                    (_gateway_pattern(str(route.via)),),
                    f"default route via {route.via}",
                    default_triggers(os, host, route),
                )
            )
        for route in host.routes:
            if route.is_default:
                continue
            family = "-inet6" if route.version == 6 else "-inet"
            network = route.to.network_address  # type: ignore[union-attr]
            expected.append(
                Expected(
                    ("route", "-n", "get", family, str(route.to)),
                    (f"destination: {_escape(str(network))}$", _gateway_pattern(str(route.via))),
                    f"route to {route.to} via {route.via}",
                    route_triggers(os, host, route),
                )
            )
    for spec in rendered.files:
        if isinstance(spec, LineEdit) and spec.path == SYSCTL_CONF:
            for line in spec.lines:
                name, _, value = line.partition("=")
                expected.append(
                    Expected(
                        ("sysctl", "-n", name.strip()),
                        (f"^{_escape(value.strip())}$",),
                        f"sysctl {name.strip()}={value.strip()}",
                        (SYSCTL_CONF,),
                    )
                )
        if (
            isinstance(spec, FileSpec)
            and spec.path.startswith(f"{ANCHOR_DIR}/")
            and spec.path.endswith(".conf")
            and _has_rules(spec.content)
        ):
            anchor = spec.path[len(ANCHOR_DIR) + 1 : -len(".conf")]
            expected.append(
                Expected(
                    ("pfctl", "-a", f"vm/{anchor}", "-s", "rules"),
                    ("^(pass|block|match)( |$)",),
                    f"pf anchor vm/{anchor} loaded",
                    (spec.path,),
                )
            )
    expected += _vms(host, rendered)
    return LiveSpec(tuple(expected), tuple(only))


def _vms(host: Host, rendered: Rendered) -> list[Expected]:
    """The VMs that should run, from the rendering's own verify checks (vmd: ``vmctl
    status``; vm-bhyve: ``vm list``), each repaired by what starts it on a change of its
    configuration: vm.conf's ``vmctl reload`` and ``vmctl start``, or bhyve-apply."""
    found = []
    for check in rendered.verify:
        match = re.fullmatch(r"VM (\S+) runs", check.why)
        if match is None:
            continue
        name = match.group(1)
        if check.argv == ("vmctl", "status"):
            triggers: tuple[str, ...] = (VM_CONF,)
        elif host.bhyve is not None:
            triggers = (guest_conf(host.bhyve.directory, name),)
        else:
            continue
        found.append(Expected(check.argv, (check.expect,), f"VM {name} running", triggers))
    return found


def _has_rules(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


# --- reading it: part of the probe's one exec -------------------------------------------------


def live_section(commands: Sequence[Command]) -> str:
    """The probe's lines that print each read command's output between markers (numbered in
    the order of ``commands``), with its exit status. Read-only: ifconfig, route get,
    brconfig, sysctl -n and pfctl -s only show state."""
    if not commands:
        return ""
    lines = [
        "drift_read() {",
        f"\tn=$1; shift; echo '{BEGIN}' \"$n\"",
        '\t"$@" 2>&1 </dev/null; rc=$?',
        f'\techo; echo \'{END}\' "$n" "$rc"',
        "}",
    ]
    lines += [f"drift_read {n} {shlex.join(argv)}" for n, argv in enumerate(commands)]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class Output:
    """One read command's output lines and exit status."""

    lines: tuple[str, ...]
    status: int


def compare(spec: LiveSpec, outputs: Mapping[Command, Output]) -> tuple[Drift, ...]:
    """The facts of ``spec`` the outputs (by command) do not show, and the addresses found
    that the files do not declare. A command the probe did not report is skipped, never
    guessed."""
    found: list[Drift] = []
    missing_interfaces: set[str] = set()
    for fact in spec.expected:
        output = outputs.get(fact.argv)
        if output is None:
            continue
        if fact.argv[0] == "ifconfig" and output.status != 0:
            name = fact.argv[1]
            if name not in missing_interfaces:
                missing_interfaces.add(name)
                found.append(Drift(f"interface {name} missing", fact.triggers))
            continue
        if not all(_matches(pattern, output.lines) for pattern in fact.patterns):
            found.append(Drift(f"{fact.what} missing", fact.triggers))
    for rule in spec.only:
        output = outputs.get(rule.argv)
        if output is None or output.status != 0:
            continue
        for address in _addresses(output.lines, rule.families):
            if address not in rule.declared:
                what = f"address {address} on {rule.interface} not in the files"
                family = "inet6" if ":" in address else "inet"
                delete = (
                    _delete_address(rule.interface, family, address)
                    if family in rule.delete_extra
                    else ()
                )
                found.append(Drift(what, rule.triggers, delete))
    return tuple(found)


def _delete_address(interface: str, family: str, address: str) -> tuple[Step, ...]:
    """FreeBSD ifconfig(8): ``-alias`` removes the address named."""
    why = f"remove {address} from {interface}: the files do not declare it"
    return (Step(("ifconfig", interface, family, address, "-alias"), why, may_fail=True),)


def _matches(pattern: str, lines: Iterable[str]) -> bool:
    regex = re.compile(pattern)
    return any(regex.search(line) for line in lines)


def _addresses(lines: Iterable[str], families: tuple[str, ...]) -> list[str]:
    """The global addresses ``ifconfig IF`` shows (link-local IPv6 is the kernel's own)."""
    found = []
    for line in lines:
        words = line.split()
        if len(words) < 2 or words[0] not in families:
            continue
        try:
            address = ip_address(words[1].split("%", 1)[0].split("/", 1)[0])
        except ValueError:
            continue
        if address.is_link_local and address.version == 6:
            continue
        if str(address) not in found:
            found.append(str(address))
    return found


def outputs_by_command(
    commands: Sequence[Command], blocks: Iterable[tuple[int, tuple[str, ...], int]]
) -> dict[Command, Output]:
    """The probe's drift blocks (number, lines, status) by the command ``live_section`` gave
    that number; the blank line the section prints after each output is dropped. A command
    the shell could not run (exit 126 or 127: missing, or not executable) read nothing, so it
    is left out: its state is unknown, not drifted (``unread`` names it for the plan)."""
    found: dict[Command, Output] = {}
    for number, lines, status in blocks:
        if number >= len(commands):
            continue
        if lines and lines[-1] == "":
            lines = lines[:-1]
        if status in NOT_RUN:
            continue
        found[commands[number]] = Output(lines, status)
    return found


# POSIX shells: 127 when the command is not found, 126 when it is found but cannot run.
NOT_RUN = (126, 127)


def unread(
    commands: Sequence[Command], blocks: Iterable[tuple[int, tuple[str, ...], int]]
) -> tuple[str, ...]:
    """A note per read command the host could not run: what it would have shown stays
    unchecked (a missing tool is not a drifted host, and repairing it would loop forever)."""
    return tuple(
        f"live state not checked: '{shlex.join(commands[number])}' could not run "
        f"(exit {status}: {'not found' if status == 127 else 'not executable'})"
        for number, _lines, status in blocks
        if number < len(commands) and status in NOT_RUN
    )


def session_address_owner(
    host: Host, address: str, outputs: Mapping[Command, Output]
) -> str | None:
    """The managed interface that shows ``address`` (the one bsdprov connects through) while
    the inventory declares it on none: the run would take it away."""
    try:
        wanted = str(ip_address(address))
    except ValueError:
        return None  # a DNS name: where it points is not the probe's to know
    if any(str(a.ip) == wanted for itf in host.interfaces.values() for a in itf.addresses):
        return None
    for name in host.interfaces:
        output = outputs.get(("ifconfig", name))
        shown = output.lines if output is not None and output.status == 0 else ()
        if wanted in _addresses(shown, ("inet", "inet6")):
            return name
    return None


def drift_summary(drift: Iterable[Drift]) -> str:
    return "; ".join(d.what for d in drift)


__all__ = [
    "Drift",
    "Expected",
    "LiveSpec",
    "OnlyAddresses",
    "Output",
    "compare",
    "expected_live",
    "live_section",
    "outputs_by_command",
    "unread",
]
