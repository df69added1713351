"""A lab host's live state as a value: record it, compare it, print what differs.

``live_state(host_root)`` reads the fakes' state files under ``/var/lab`` (their layout is in
``fakes/common/usr/libexec/lab/lib.sh``) from outside the host, so it costs no SSH session and
works on a locked-out host. Two records of one host compare equal when the host would behave the
same: what a reboot legitimately changes (interface indexes, a VM's id and tap unit, random
MACs of cloned interfaces) is left out or named by what it belongs to, so ``before == after``
across ``lab.reboot`` is the reboot invariant, and across a rollback the rollback's.

``state_difference(before, after)`` is "" when they are equal, else a diff of the two as lines
("if em0: inet 192.0.2.10 24", "route: inet 0.0.0.0/0 ...", "pf anchor vm/web01: pass ...").
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = "var/lab/state"

# Keys of an interface file left out of the record:
# - index: the kernel numbers interfaces in creation order, and a boot creates them in another
#   order than a deploy's activation did (netstart: cloned first, then by type; vmd: VMs in
#   vm.conf order). Routes name their interface instead of "link#INDEX".
_IGNORED_IF_KEYS = frozenset({"index"})
# The fakes give a cloned interface a MAC derived from its index when they create it
# (lab_if_new), so a boot that creates it in another order gives it another one. On a real host
# vether and tap get a random one (OpenBSD ether_fakeaddr), a vlan its parent's, a FreeBSD
# bridge one derived from the host UUID and its name (ether_gen_addr). Such a MAC is recorded as
# "(random)"; one the configuration set (lladdr ...) as itself.
_RANDOM_MACS = {
    "vether": "fe:e1:ba:d0:00:{:02x}",
    "tap": "fe:e1:ba:d0:00:{:02x}",
    "vlan": "fe:e1:ba:d0:00:{:02x}",
    "epair": "fe:e1:ba:d0:00:{:02x}",
    "bridge": "58:9c:fc:10:00:{:02x}",
}
# vmd describes a VM's tap "vmID-ifN-NAME" (vmd's vm_priv_ifconfig); the tap unit is the first
# free one when the VM starts and the id counts VM starts, so both change across a reboot.
_VM_TAP_DESCR = re.compile(r"^vm[0-9]+-if([0-9]+)-(.+)$")
# A VM's record without what a restart renumbers (vm.sh: id, tty, pid, "tap IDX TAPn").
_IGNORED_VM_KEYS = frozenset({"id", "tty", "pid", "tap"})


@dataclass(frozen=True, slots=True)
class InterfaceState:
    """One interface: its name (a VM's tap as ``tap(VM/ifN)``) and its settings.

    ``settings`` are the state file's "key value" lines (type, up, mtu, lladdr, descr, inet,
    inet6, member, parent, vnetid, tunnel, group, autoconf...) minus the index, by key. The
    addresses of a family keep their order (the first one of a prefix is the source address);
    members and groups are sorted, since their order changes nothing a host does.
    """

    name: str
    settings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LiveState:
    """What a host is doing right now, comparable with ``==`` (see the module docstring)."""

    hostname: str
    interfaces: tuple[InterfaceState, ...]
    routes: tuple[str, ...]  # static routes "FAM DEST PLEN GATEWAY FLAGS IFACE IFA PRIO"
    sysctls: tuple[str, ...]  # "name=value", sorted
    pf_enabled: bool
    pf_rules: tuple[str, ...]  # the main ruleset, in order
    pf_anchors: tuple[tuple[str, tuple[str, ...]], ...]  # (anchor path, its rules)
    daemons: tuple[str, ...]  # running daemons (OpenBSD rc.d), sorted
    vmd_running: bool
    vm_switches: tuple[str, ...]  # "ID NAME BRIDGE ENABLED GROUP LOCKED"
    vms: tuple[tuple[str, tuple[str, ...]], ...]  # (VM name, its settings)

    def lines(self) -> list[str]:
        """The state as self-describing lines, in a fixed order (what a diff compares)."""
        out = [f"hostname: {self.hostname}"]
        out += [f"if {i.name}: {line}" for i in self.interfaces for line in i.settings]
        out += [f"route: {route}" for route in self.routes]
        out += [f"sysctl: {sysctl}" for sysctl in self.sysctls]
        out.append(f"pf: {'enabled' if self.pf_enabled else 'disabled'}")
        out += [f"pf main: {rule}" for rule in self.pf_rules]
        for path, rules in self.pf_anchors:
            out.append(f"pf anchor {path}: ({len(rules)} rules)")
            out += [f"pf anchor {path}: {rule}" for rule in rules]
        out += [f"daemon: {name}" for name in self.daemons]
        out.append(f"vmd: {'running' if self.vmd_running else 'stopped'}")
        out += [f"vm switch: {switch}" for switch in self.vm_switches]
        out += [f"vm {name}: {line}" for name, settings in self.vms for line in settings]
        return out


def live_state(host_root: Path) -> LiveState:
    """Record the live state of the lab host whose root (as seen from here) is ``host_root``."""
    state = host_root / STATE_DIR
    interfaces = _read_interfaces(state / "if")
    names = _canonical_names(interfaces)
    by_index = {
        settings.get("index", [""])[0]: names[name] for name, settings in interfaces.items()
    }
    vm_dir = state / "vm"
    return LiveState(
        hostname=_read_text(host_root / "var/lab/hostname").strip(),
        interfaces=tuple(
            sorted(
                (_interface(names[name], settings, names) for name, settings in interfaces.items()),
                key=lambda i: i.name,
            )
        ),
        routes=tuple(sorted(_route(line, by_index) for line in _lines(state / "routes"))),
        sysctls=tuple(sorted(_lines(state / "sysctl"))),
        pf_enabled=_read_text(state / "pf/enabled").strip() == "1",
        pf_rules=tuple(_lines(state / "pf/main")),
        pf_anchors=_anchors(state / "pf/anchors"),
        daemons=tuple(sorted(p.name for p in _files(state / "rc"))),
        vmd_running=(vm_dir / "vmd").is_file(),
        vm_switches=tuple(_lines(vm_dir / "switches")),
        vms=tuple(
            (p.name, _vm_settings(p))
            for p in sorted(_files(vm_dir), key=lambda p: p.name)
            if p.name not in ("vmd", "switches")
        ),
    )


def state_difference(before: LiveState, after: LiveState) -> str:
    """Empty when the two states are equal, else a unified diff of their lines."""
    if before == after:
        return ""
    diff = difflib.unified_diff(before.lines(), after.lines(), "before", "after", lineterm="", n=1)
    return "\n".join(diff) + "\n"


def file_bytes(host_root: Path, paths: Iterable[str]) -> dict[str, bytes | None]:
    """The bytes of each host path (``/etc/rc.conf``) under ``host_root``; None when absent."""
    found: dict[str, bytes | None] = {}
    for path in paths:
        file = host_root / path.lstrip("/")
        found[path] = file.read_bytes() if file.is_file() else None
    return found


def files_difference(before: Mapping[str, bytes | None], after: Mapping[str, bytes | None]) -> str:
    """Empty when every path has the same bytes (or is absent in both), else a diff per path."""
    out = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None or new is None:
            out.append(f"{path}: {'created' if old is None else 'removed'}")
            continue
        out.append(f"{path}: changed")
        old_lines = old.decode(errors="replace").splitlines()
        new_lines = new.decode(errors="replace").splitlines()
        out += difflib.unified_diff(old_lines, new_lines, "before", "after", lineterm="", n=1)
    return "\n".join(out) + "\n" if out else ""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _lines(path: Path) -> list[str]:
    return [line for line in _read_text(path).splitlines() if line.strip()]


def _files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.is_file()] if directory.is_dir() else []


def _read_interfaces(directory: Path) -> dict[str, dict[str, list[str]]]:
    """Each interface file as key -> its values, in file order."""
    interfaces: dict[str, dict[str, list[str]]] = {}
    for path in _files(directory):
        settings: dict[str, list[str]] = {}
        for line in _lines(path):
            key, _, value = line.partition(" ")
            settings.setdefault(key, []).append(value)
        interfaces[path.name] = settings
    return interfaces


def _canonical_names(interfaces: Mapping[str, Mapping[str, list[str]]]) -> dict[str, str]:
    """Interface name -> the name it is recorded under: a VM's tap by its VM and NIC."""
    names = {}
    for name, settings in interfaces.items():
        match = _VM_TAP_DESCR.match(settings.get("descr", [""])[-1])
        is_tap = settings.get("type", [""])[0] == "tap"
        names[name] = f"tap({match.group(2)}/if{match.group(1)})" if is_tap and match else name
    return names


def _interface(
    name: str, settings: Mapping[str, list[str]], names: Mapping[str, str]
) -> InterfaceState:
    kind = settings.get("type", [""])[0]
    lines = []
    # The fakes append a key when they set it, so the file's key order is the order of the
    # commands, which a boot need not repeat; the order of one key's values (addresses) counts.
    for key, values in sorted(settings.items()):
        if key in _IGNORED_IF_KEYS:
            continue
        if key == "descr" and name.startswith("tap("):
            continue  # holds the VM's id (see _VM_TAP_DESCR); the name says the rest
        if key == "lladdr" and _is_random_mac(kind, settings, values[-1]):
            values = ["(random)"]
        if key == "member":
            values = sorted(names.get(v, v) for v in values)
        elif key == "group":
            values = sorted(values)
        lines += [f"{key} {value}".rstrip() for value in values]
    return InterfaceState(name, tuple(lines))


def _is_random_mac(kind: str, settings: Mapping[str, list[str]], mac: str) -> bool:
    pattern = _RANDOM_MACS.get(kind)
    index = settings.get("index", [""])[0]
    return pattern is not None and index.isdigit() and mac == pattern.format(int(index))


def _route(line: str, by_index: Mapping[str, str]) -> str:
    """A static route with ``link#INDEX`` gateways named by their interface."""
    words = line.split()
    if len(words) > 3 and words[3].startswith("link#"):
        index = words[3].removeprefix("link#")
        words[3] = f"link#{by_index.get(index, '?' + index)}"
    return " ".join(words)


def _vm_settings(path: Path) -> tuple[str, ...]:
    return tuple(sorted(x for x in _lines(path) if x.split(" ")[0] not in _IGNORED_VM_KEYS))


def _anchors(directory: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not directory.is_dir():
        return ()
    found = []
    for rules in sorted(directory.rglob("_rules")):
        path = rules.parent.relative_to(directory).as_posix()
        found.append((path, tuple(_lines(rules))))
    # Anchors with no rules file yet (pfctl's "A" records) exist too.
    for sub in sorted(p for p in directory.rglob("*") if p.is_dir()):
        path = sub.relative_to(directory).as_posix()
        if not (sub / "_rules").exists():
            found.append((path, ()))
    return tuple(sorted(found))
