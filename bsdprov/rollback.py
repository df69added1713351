"""Plan a run's rollback from the files it restores: its own checks and activation steps.

A rollback puts back each file a run changed and then makes the running system match the
restored files again. Replaying the run's own commands does not do that: they were chosen for
the new files (a check of an anchor file the rollback removes fails, ``hostname NEW`` sets the
new name again, nothing destroys an interface the run created). So the rollback is planned
here, when the run is planned, from each file's two contents: what the run installs (``now``,
what the host has when it rolls back) and what it replaces (``restored``, what the rollback
puts back). Things the run created are removed (an interface destroyed, a VM stopped, an anchor
flushed, a route deleted), things it changed are re-applied from the restored files, and what
no file records (the running host name, sysctl values, whether pf was on) comes from ``Live``,
read by the probe before the run.

Pure: values in, ``Undo`` out; ``with_undo`` attaches it to a ``Plan``.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bsdprov.facts import Live
from bsdprov.lifecycle import VmOptions, bhyve_undo, vm_blocks, vm_changes, with_vm_changes
from bsdprov.model import kind_of
from bsdprov.plan import FileChange, Plan, shell_values
from bsdprov.render.base import KIND_ORDER, Step
from bsdprov.render.bhyve import NAT_ANCHOR, NAT_LOAD
from bsdprov.render.hypervisor import (
    DHCPD_CONF,
    PF_ANCHOR,
    RC_APPLY,
    RC_LOCAL,
    SYSCTL_APPLY,
    SYSCTL_CONF,
    VM_CONF,
    VMD_STEP,
)
from bsdprov.render.netbsd import DHCPCD_CONF, IFUP
from bsdprov.render.pf import ANCHOR_DIR, PF_CONF, PF_INCLUDED

RC_CONF = "/etc/rc.conf"
WHY = "the rollback"


# No running state read (a plan from files alone): nothing of it is put back.
UNKNOWN_LIVE = Live()


@dataclass(frozen=True, slots=True)
class Undo:
    """The checks and steps of a run's rollback, run on the restored files."""

    checks: tuple[Step, ...] = ()
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Swap:
    """One file as a rollback sees it: ``now`` is replaced by ``restored`` (None: absent)."""

    path: str
    now: str | None
    restored: str | None


def swaps_of(changes: Iterable[FileChange]) -> tuple[Swap, ...]:
    """The rollback of a run's ``changes``: each file from what the run installs back to what
    it replaces."""
    return tuple(Swap(c.path, c.after, c.before.content) for c in changes)


def with_undo(plan: Plan, live: Live = UNKNOWN_LIVE) -> Plan:
    """``plan`` with the checks and steps that would roll it back."""
    undo = plan_undo(plan.os, swaps_of(plan.changes), plan.steps, live)
    return dataclasses.replace(plan, undo_checks=undo.checks, undo_steps=undo.steps)


def plan_undo(
    os: str, swaps: Sequence[Swap], forward: Sequence[Step] = (), live: Live = UNKNOWN_LIVE
) -> Undo:
    """The checks and steps that make the running system match ``swaps``' restored files.

    ``forward`` are the steps of the run being undone (a VM it restarted is restarted again);
    ``live`` is the state before it (the host name, sysctl values, pf on or off).
    """
    planner = PLANNERS.get(os)
    # A file whose only difference is a comment (the managed-by header) changes nothing running.
    swaps = [
        s
        for s in swaps
        if s.now is None or s.restored is None or _lines(s.now) != _lines(s.restored)
    ]
    if planner is None or not swaps:
        return Undo()
    checks, steps = planner(_Files(swaps), forward, live)
    return Undo(tuple(checks), tuple(_unique(steps)))


# --- the files a rollback swaps ------------------------------------------------------------------


class _Files:
    def __init__(self, swaps: Sequence[Swap]) -> None:
        self.by_path = {s.path: s for s in swaps}

    def get(self, path: str) -> Swap | None:
        return self.by_path.get(path)

    def matching(self, prefix: str) -> list[Swap]:
        return [s for p, s in sorted(self.by_path.items()) if p.startswith(prefix)]

    def vars(self, path: str) -> tuple[dict[str, str], dict[str, str]]:
        swap = self.get(path)
        if swap is None:
            return {}, {}
        return shell_values(swap.now or ""), shell_values(swap.restored or "")

    def changed_keys(self, path: str) -> set[str]:
        now, restored = self.vars(path)
        return {k for k in now.keys() | restored.keys() if now.get(k) != restored.get(k)}


def _unique(steps: Iterable[Step]) -> list[Step]:
    seen: set[tuple[str, ...]] = set()
    found = []
    for step in steps:
        if step.argv not in seen:
            seen.add(step.argv)
            found.append(step)
    return found


def _order(name: str) -> tuple[int, str, int]:
    """Configuration order, as ``base.ordered_interfaces``: physical first, tunnels last."""
    driver = name.rstrip("0123456789")
    unit = name[len(driver) :]
    return (KIND_ORDER.get(kind_of(name), 0), driver, int(unit) if unit.isdigit() else 0)


def _lines(text: str | None) -> list[str]:
    return [
        line.strip()
        for line in (text or "").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _route_deletes(text: str | None, delete: tuple[str, ...]) -> list[Step]:
    """``route ... delete`` for each route a file's ``!route ... add`` lines add: what the
    installed file added goes before the restored file's routes come back."""
    steps = []
    for line in _lines(text):
        if not line.startswith("!"):
            continue
        try:
            words = shlex.split(line[1:])
        except ValueError:
            continue
        if not words or words[0].rsplit("/", 1)[-1] != "route" or "add" not in words:
            continue
        args = words[words.index("add") + 1 :]
        family = tuple(w for w in args if w in ("-inet", "-inet6"))[:1]
        kind = tuple(w for w in args if w in ("-host", "-net"))[:1]
        target = next((w for w in args if not w.startswith("-")), None)
        if target is not None:
            steps.append(
                Step((*delete, *family, *kind, target), f"{WHY}: the run's file added it", True)
            )
    return steps


def _destroy(name: str) -> Step:
    # May fail: an activation that stopped before the step creating ``name`` leaves nothing to
    # destroy ("interface does not exist"), which is the state the rollback wants; a failure
    # there would leave the rollback failed, and its resume failing the same way at each run.
    return Step(("ifconfig", name, "destroy"), f"{WHY}: the run created {name}", True)


def _describes(lines: list[str]) -> bool:
    return any(line.split()[0] in ("description", "descr") for line in lines)


def _no_description(name: str) -> Step:
    # Re-applying a configuration sets a description but never clears one.
    return Step(("ifconfig", name, "-description"), f"{WHY}: {name} had no description")


def _old_mac(name: str, set_now: bool, set_restored: bool, live: Live, *how: str) -> list[Step]:
    """The MAC ``name`` had before the run, when the run's configuration set one and the
    restored one sets none: re-applying a configuration never resets a link-level address."""
    mac = live.mac(name)
    if not set_now or set_restored or not mac:
        return []
    return [Step(("ifconfig", name, how[0], mac, *how[1:]), f"{WHY}: the MAC before the run")]


def _hostname(name: str | None) -> list[Step]:
    if not name:
        return []
    return [Step(("hostname", name), f"{WHY}: the host name before the run")]


def _first_word(text: str | None) -> str | None:
    lines = _lines(text)
    return lines[0].split()[0] if lines else None


# --- OpenBSD ----------------------------------------------------------------------------------


def _openbsd(files: _Files, forward: Sequence[Step], live: Live) -> tuple[list[Step], list[Step]]:
    checks: list[Step] = []
    steps: list[Step] = []
    interfaces = sorted(
        (s.path.removeprefix("/etc/hostname."), s) for s in files.matching("/etc/hostname.")
    )
    interfaces.sort(key=lambda item: _order(item[0]))
    kept = [name for name, s in interfaces if s.restored is not None]
    if kept:
        checks.append(Step(("sh", "/etc/netstart", "-n", *kept), "netstart's own dry run"))
    checks += _pf_checks(files)
    vm_conf = files.get(VM_CONF)
    if vm_conf is not None and vm_conf.restored is not None:
        checks.append(Step(("vmd", "-n"), "vmd parses vm.conf (the disks must exist)"))
    dhcpd = files.get(DHCPD_CONF)
    if dhcpd is not None and dhcpd.restored is not None:
        checks.append(Step(("dhcpd", "-n"), "dhcpd parses dhcpd.conf"))

    mygate = files.get("/etc/mygate")
    if mygate is not None:
        gateways = _lines(mygate.now) + _lines(mygate.restored)
        for flag, v6 in (((), False), (("-inet6",), True)):
            if any((":" in g) == v6 for g in gateways if not g.startswith("!")):
                steps.append(
                    Step(
                        ("route", "-qn", "delete", *flag, "default"),
                        f"{WHY}: netstart never replaces an existing default route",
                        True,
                    )
                )
    # Interfaces the run created go first, the last configured first (a bridge before its
    # members); then the others are configured again from their restored files.
    for name, swap in reversed(interfaces):
        steps += _route_deletes(swap.now, ("route", "-qn", "delete"))
        if swap.restored is None and kind_of(name) != "physical":
            steps.append(_destroy(name))
    reapplied = False
    for name, swap in interfaces:
        if swap.restored is None and kind_of(name) != "physical":
            continue
        restored_words = [w for line in _lines(swap.restored) for w in line.split()]
        vlan = "parent" in restored_words
        if vlan:
            # As the deploy: a running vlan refuses a new parent (if_vlan.c vlan_set_parent).
            steps.append(Step(("ifconfig", name, "down"), f"{WHY}: {name} takes its parent", True))
        if kind_of(name) != "bridge":
            # As openbsd.py's deploy: netstart only adds addresses and sets autoconf flags, so
            # each family starts from what boot starts from; the restored file sets them again.
            for family in ("inet", "inet6"):
                steps += [
                    Step(
                        ("ifconfig", name, family, "-autoconf"),
                        f"{WHY}: netstart never clears the {family} autoconf flag",
                        True,
                    ),
                    Step(
                        ("ifconfig", name, f"-{family}"),
                        f"{WHY}: netstart does not remove addresses",
                        True,
                    ),
                ]
        if _describes(_lines(swap.now)) and not _describes(_lines(swap.restored)):
            steps.append(_no_description(name))
        steps += _old_mac(
            name, _sets_mac(swap.now, "lladdr"), _sets_mac(swap.restored, "lladdr"), live, "lladdr"
        )
        if swap.restored is None:
            # No hostname.IF: netstart leaves the interface down and unconfigured at boot.
            steps.append(Step(("ifconfig", name, "down"), f"{WHY}: {name} had no file"))
        else:
            steps.append(
                Step(("sh", "/etc/netstart", name), f"{WHY}: configure {name}, then mygate")
            )
            if vlan and "down" not in restored_words:
                steps.append(Step(("ifconfig", name, "up"), f"{WHY}: {name} runs again"))
            reapplied = True
    if mygate is not None and mygate.restored is not None and not reapplied:
        # netstart IF adds mygate's routes after IF; with no interface to configure, add them.
        done: set[bool] = set()
        for gateway in _lines(mygate.restored):
            v6 = ":" in gateway
            if gateway.startswith("!") or v6 in done:
                continue
            done.add(v6)
            flag = ("-inet6",) if v6 else ()
            steps.append(
                Step(
                    ("route", "-qn", "add", "-host", *flag, "default", gateway.split()[0]),
                    f"{WHY}: mygate's default route",
                )
            )
    steps += _hypervisor_steps(files, forward, live)
    myname = files.get("/etc/myname")
    if myname is not None:
        steps += _hostname(live.hostname or _first_word(myname.restored))
    return checks, steps


def _sets_mac(text: str | None, word: str) -> bool:
    return any(line.split()[0] == word for line in _lines(text))


def _pf_checks(files: _Files) -> list[Step]:
    checks = []
    pf_conf = files.get(PF_CONF)
    if (files.get(PF_INCLUDED) or pf_conf) and (pf_conf is None or pf_conf.restored is not None):
        checks.append(Step(("pfctl", "-nf", PF_CONF), "pf parses the ruleset and its anchors"))
    for swap in files.matching(f"{ANCHOR_DIR}/"):
        if swap.restored is not None:
            checks.append(
                Step(
                    ("pfctl", "-a", f"vm/{_stem(swap.path)}", "-nf", swap.path),
                    "pf parses the anchor on its own",
                )
            )
    return checks


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].split(".", 1)[0]


def _hypervisor_steps(files: _Files, forward: Sequence[Step], live: Live) -> list[Step]:
    steps: list[Step] = []
    sysctl_conf = files.get(SYSCTL_CONF)
    if sysctl_conf is not None:
        now, restored = _sysctl_values(sysctl_conf.now), _sysctl_values(sysctl_conf.restored)
        names = sorted(n for n in now.keys() | restored.keys() if now.get(n) != restored.get(n))
        if names:
            defaults = tuple(f"{n}={live.sysctl(n) or '0'}" for n in names)
            steps.append(
                Step(
                    ("sh", SYSCTL_APPLY, *defaults),
                    f"{WHY}: the restored file's values, or the values before the run",
                )
            )
    pf_conf = files.get(PF_CONF)
    rc_keys = files.changed_keys(RC_LOCAL)
    if pf_conf is not None or files.get(PF_INCLUDED) is not None:
        if pf_conf is not None and pf_conf.restored is None:
            steps.append(Step(("pfctl", "-F", "rules"), f"{WHY}: there was no pf.conf", True))
        else:
            steps.append(Step(("pfctl", "-f", PF_CONF), f"{WHY}: the restored ruleset"))
    # pf on or off as before the run: it may have enabled pf (and rc.conf.local's pf=YES).
    if pf_conf is not None or files.get(PF_INCLUDED) is not None or "pf" in rc_keys:
        if live.pf_enabled is False:
            steps.append(Step(("pfctl", "-d"), f"{WHY}: pf was off before the run", True))
        elif live.pf_enabled is True:
            steps.append(Step(("pfctl", "-e"), f"{WHY}: pf was on; fails when it still is", True))
    if files.get(DHCPD_CONF) is not None or "dhcpd_flags" in rc_keys:
        steps.append(
            Step(("sh", RC_APPLY, "restart", "dhcpd"), f"{WHY}: dhcpd as rc.conf.local says")
        )
    vm_conf = files.get(VM_CONF)
    if vm_conf is not None or "vmd_flags" in rc_keys:
        vm_now = vm_conf.now if vm_conf else None
        vm_restored = vm_conf.restored if vm_conf else None
        # A VM the run restarted (--restart-vms) is restarted again to take its old definition.
        old, new = vm_blocks(vm_now), vm_blocks(vm_restored)
        restarted = any(
            s.argv[:3] == ("vmctl", "stop", "-w") and s.argv[3] in old and s.argv[3] in new
            for s in forward
            if len(s.argv) == 4
        )
        vms = vm_changes(vm_now, vm_restored, VmOptions(restart_vms=restarted))
        reload = [Step(VMD_STEP, f"{WHY}: vmd as rc.conf.local and vm.conf say")]
        reload += [
            Step(("vmctl", "start", name), f"{WHY}: the run stopped VM {name}", True)
            for name, block in new.items()
            if name not in old and "\tdisable" not in block
        ]
        steps += with_vm_changes(tuple(reload), vms)
    for swap in files.matching(f"{ANCHOR_DIR}/"):
        steps.append(
            Step(
                ("sh", PF_ANCHOR, f"vm/{_stem(swap.path)}", swap.path),
                f"{WHY}: the anchor from its restored file (flushed if there is none)",
            )
        )
    return steps


def _sysctl_values(text: str | None) -> dict[str, str]:
    values = {}
    for line in _lines(text):
        name, sep, value = line.split("#", 1)[0].partition("=")
        if sep:
            values[name.strip()] = value.strip()
    return values


# --- FreeBSD ----------------------------------------------------------------------------------

FREEBSD_KEY_RE = re.compile(r"(?:ifconfig|create_args|vlans)_([a-z]+[0-9]+)(?:_.*)?")
ROUTING_RE = re.compile(r"(?:ipv6_)?(?:static_routes|route_.*|defaultrouter|gateway_enable)")


def _freebsd_pf(files: _Files, live: Live) -> tuple[list[Step], list[Step]]:
    """A bhyve hypervisor's NAT (render/bhyve.py): the restored pf.conf and its anchor file
    loaded again, or with none, FreeBSD pf's translation and filter rules flushed (two
    rulesets there); pf on or off as before, off when pf(4) was not even loaded."""
    pf_conf, nat = files.get(PF_CONF), files.get(PF_INCLUDED)
    if pf_conf is None and nat is None and "pf_enable" not in files.changed_keys(RC_CONF):
        return [], []
    steps: list[Step] = []
    if pf_conf is not None and pf_conf.restored is None:
        steps += [
            Step(("pfctl", "-F", "nat"), f"{WHY}: there was no pf.conf", True),
            Step(("pfctl", "-F", "rules"), f"{WHY}: there was no pf.conf", True),
        ]
    elif pf_conf is not None:
        steps.append(Step(("pfctl", "-f", PF_CONF), f"{WHY}: the restored ruleset"))
    elif nat is not None and nat.restored is not None:
        # The run changed the NAT rules only (pf.conf had the hook): their anchor alone again.
        steps.append(Step(NAT_LOAD, f"{WHY}: the restored NAT rules, into their anchor"))
    if nat is not None and nat.restored is None:
        # Unhooked, the anchor would keep its rules (loaded, never evaluated): flushed.
        steps.append(
            Step(("pfctl", "-a", NAT_ANCHOR, "-F", "nat"), f"{WHY}: there was no NAT", True)
        )
    if live.pf_enabled is True:
        steps.append(Step(("pfctl", "-e"), f"{WHY}: pf was on; fails when it still is", True))
    else:
        why = "pf was off" if live.pf_enabled is False else "pf(4) was not loaded"
        steps.append(Step(("pfctl", "-d"), f"{WHY}: {why} before the run", True))
    return _pf_checks(files), steps


def _freebsd(files: _Files, forward: Sequence[Step], live: Live) -> tuple[list[Step], list[Step]]:
    # A bhyve hypervisor's guests and switches follow the restored files (after the network).
    bhyve = bhyve_undo(files.by_path, files.changed_keys(RC_CONF), forward)
    pf_checks, pf = _freebsd_pf(files, live)
    bhyve = pf + bhyve
    rc = files.get(RC_CONF)
    if rc is None:
        return pf_checks, bhyve
    checks = (
        [Step(("sh", "-n", RC_CONF), "rc.conf is sourced by sh at boot")]
        if rc.restored is not None
        else []
    )
    now, restored = files.vars(RC_CONF)
    keys = files.changed_keys(RC_CONF)
    names = {m.group(1) for k in keys if (m := FREEBSD_KEY_RE.fullmatch(k))}

    def cloned(values: dict[str, str]) -> set[str]:
        # rc.conf(5): "bridge0:sticky" in cloned_interfaces; vlans_vtnet0="10 vlan20" makes
        # vtnet0.10 and vlan20.
        names = {w.split(":")[0] for w in values.get("cloned_interfaces", "").split()}
        for key, value in values.items():
            if key.startswith("vlans_"):
                parent = key.removeprefix("vlans_")
                names |= {f"{parent}.{w}" if w.isdigit() else w for w in value.split()}
        return names

    created = cloned(now) - cloned(restored)
    names |= created | (cloned(restored) - cloned(now))
    steps: list[Step] = []
    for name in sorted(created, key=_order, reverse=True):
        steps.append(_destroy(name))
    for name in _netif_restarts(names - created, restored, cloned(restored)):
        ipv6 = f"ifconfig_{name}_ipv6"
        if ipv6 in keys and "accept_rtadv" not in restored.get(ipv6, "").split():
            # As the deploy does (freebsd.py): ifn_stop reads the restored rc.conf and would
            # leave a router-advert flag the run's rc.conf set.
            steps.append(
                Step(
                    ("ifconfig", name, "inet6", "-accept_rtadv"),
                    f"{WHY}: no router-advert autoconfiguration, as after a boot",
                    True,
                )
            )
        if not restored.get(ipv6):
            # ipv6_down removes IPv6 addresses only when the (restored) rc.conf still
            # configures IPv6 on the interface (network.subr ipv6if): those the run's rc.conf
            # added go by hand.
            steps += [
                Step(
                    ("ifconfig", name, "inet6", address, "-alias"), f"{WHY}: the run added it", True
                )
                for address in _inet6_addresses(now, name)
            ]
        steps.append(
            Step(("service", "netif", "restart", name), f"{WHY}: {name} from the restored rc.conf")
        )
        steps += _old_mac(
            name, _freebsd_sets_mac(now, name), _freebsd_sets_mac(restored, name), live, "ether"
        )
        # netif sets a description but never clears one.
        descr = f"ifconfig_{name}_descr"
        if now.get(descr) and not restored.get(descr):
            steps.append(_no_description(name))
    if names or any(ROUTING_RE.fullmatch(k) for k in keys):
        routing = next((s for s in forward if s.argv[:2] == ("service", "routing")), None)
        if routing is not None and routing.argv[2:] == ("start",):
            # As the deploy (freebsd.py _route_deletes): `start` only adds, and `route add`
            # never replaces a route, so the run's routes go first or they stay.
            steps += _freebsd_route_deletes(keys, now)
        steps.append(
            Step(
                routing.argv if routing else ("service", "routing", "restart"),
                f"{WHY}: the restored rc.conf's routes",
                routing.may_fail if routing else False,
            )
        )
    if "hostname" in keys:
        steps += _hostname(live.hostname or restored.get("hostname"))
    return checks + pf_checks, steps + bhyve


def _freebsd_sets_mac(values: dict[str, str], name: str) -> bool:
    """Whether rc.conf's ifconfig_IF or an ifconfig_IF_aliasN sets ``name``'s MAC."""
    keys = (k for k in values if re.fullmatch(rf"ifconfig_{name}(?:_alias[0-9]+)?", k))
    return any(w in ("ether", "lladdr", "link") for k in keys for w in values[k].split())


def _freebsd_route_deletes(keys: set[str], now: dict[str, str]) -> list[Step]:
    """``route -n delete`` of each route the run's rc.conf added under a changed key."""
    steps = []
    for key in sorted(keys):
        family = ("-inet6",) if key.startswith("ipv6_") else ()
        if key in ("defaultrouter", "ipv6_defaultrouter"):
            target: list[str] = ["default"]
        elif re.fullmatch(r"(?:ipv6_)?route_.+", key) and now.get(key):
            words = now[key].split()
            target = words[:2] if words[0] in ("-host", "-net") else words[:1]
        else:
            continue
        steps.append(
            Step(
                ("route", "-n", "delete", *family, *target),
                f"{WHY}: rc.d/routing start never replaces the run's route",
                True,
            )
        )
    return steps


def _inet6_addresses(values: dict[str, str], name: str) -> list[str]:
    """The IPv6 addresses rc.conf's ifconfig_IF_ipv6 and ifconfig_IF_aliasN give ``name``."""
    found = []
    for key, value in values.items():
        if key == f"ifconfig_{name}_ipv6" or re.fullmatch(rf"ifconfig_{name}_alias[0-9]+", key):
            words = value.split()
            if len(words) > 1 and words[0] == "inet6" and ":" in words[1]:
                found.append(words[1].split("/")[0])
    return found


def _netif_restarts(names: set[str], restored: dict[str, str], cloned: set[str]) -> list[str]:
    """``names`` in configuration order, plus what their restarts re-create outside a bridge:
    a restart destroys the interface when it is cloned and its vlans_ children (ifn_stop), which
    come back outside any bridge, so those children and the bridges holding a destroyed member
    are restarted after it (as freebsd.py's deploy steps do)."""
    known = {m.group(1) for k in restored if (m := FREEBSD_KEY_RE.fullmatch(k))} | cloned
    chosen: list[str] = []
    gone: set[str] = set()
    for name in sorted(known | names, key=_order):
        members = {
            w
            for a, w in zip(
                restored.get(f"ifconfig_{name}", "").split(),
                restored.get(f"ifconfig_{name}", "").split()[1:],
                strict=False,
            )
            if a == "addm"
        }
        if name in names or name in gone or members & gone:
            chosen.append(name)
            children = restored.get(f"vlans_{name}", "").split()
            gone |= {f"{name}.{c}" if c.isdigit() else c for c in children}
            if name in cloned:
                gone.add(name)
    return chosen


# --- NetBSD -----------------------------------------------------------------------------------


def _netbsd(files: _Files, forward: Sequence[Step], live: Live) -> tuple[list[Step], list[Step]]:
    rc = files.get(RC_CONF)
    checks = (
        [Step(("sh", "-n", RC_CONF), "rc.conf is sourced by sh at boot")]
        if rc is not None and rc.restored is not None
        else []
    )
    now, restored = files.vars(RC_CONF)
    keys = files.changed_keys(RC_CONF)
    configs = {s.path.removeprefix("/etc/ifconfig."): s for s in files.matching("/etc/ifconfig.")}
    names = set(configs) | {k.removeprefix("ifconfig_") for k in keys if k.startswith("ifconfig_")}
    ordered = sorted(names, key=_order)
    steps: list[Step] = []
    defaults: dict[str, tuple[str, ...]] = {"defaultroute": ("route", "-q", "delete", "default")}
    defaults["defaultroute6"] = ("route", "-q", "delete", "-inet6", "default")
    # The default routes to put back: those rc.conf names before or after, and those the run
    # replaced (rc.conf unchanged): re-applying an interface drops its addresses and with them
    # the routes through them.
    replaced = {s.argv for s in forward}
    families = [
        argv
        for key, argv in defaults.items()
        if now.get(key) or restored.get(key) or argv in replaced
    ]
    replace_default = bool(families) and (bool(ordered) or any(k in keys for k in defaults))
    if replace_default:
        steps += [
            Step(argv, f"{WHY}: re-added from the restored rc.conf below", True)
            for argv in families
        ]
    for name in reversed(ordered):
        swap = configs.get(name)
        steps += _route_deletes(swap.now if swap else None, ("route", "-q", "delete"))
        configured = (swap is not None and swap.restored is not None) or restored.get(
            f"ifconfig_{name}"
        )
        if not configured and kind_of(name) != "physical":
            steps.append(_destroy(name))
    # As the deploy (netbsd.py): dhcpcd lets go of each interface the restored dhcpcd.conf
    # denies it (a lease the run's `dhcp: true` gave would stay next to the restored static
    # address and be renewed), and takes back, after them, those it may have again.
    dhcpcd = sorted(set(ordered) | _denied_changes(files.get(DHCPCD_CONF)), key=_order)
    if dhcpcd:
        steps.append(
            Step(("sh", IFUP, "release", *dhcpcd), f"{WHY}: dhcpcd -x where dhcpcd.conf denies")
        )
    for name in ordered:
        swap = configs.get(name)
        configured = (swap is not None and swap.restored is not None) or restored.get(
            f"ifconfig_{name}"
        )
        if configured or kind_of(name) == "physical":
            steps.append(
                Step(
                    ("sh", IFUP, name),
                    f"{WHY}: {name} as rc.d/network configures it from the restored files",
                )
            )
            old_lines = _lines(swap.now if swap else None) + _lines(now.get(f"ifconfig_{name}"))
            new_lines = _lines(swap.restored if swap else None)
            new_lines += _lines(restored.get(f"ifconfig_{name}"))
            if _describes(old_lines) and not _describes(new_lines):
                steps.append(_no_description(name))
            steps += _old_mac(
                name,
                any(line.split()[0] == "link" for line in old_lines),
                any(line.split()[0] == "link" for line in new_lines),
                live,
                "link",
                "active",
            )
    if replace_default:
        steps.append(Step(("sh", IFUP, "defaultroute"), f"{WHY}: rc.conf's default routes"))
    if dhcpcd:
        steps.append(
            Step(("sh", IFUP, "bind", *dhcpcd), f"{WHY}: with dhcpcd=YES, dhcpcd takes them back")
        )
    if "hostname" in keys:
        steps += _hostname(live.hostname or restored.get("hostname"))
    return checks, steps


def _denied_changes(swap: Swap | None) -> set[str]:
    """The interfaces named on a ``denyinterfaces`` line of one of the two dhcpcd.conf."""
    if swap is None:
        return set()
    now, restored = (
        {line for line in _lines(text) if line.split()[0] == "denyinterfaces"}
        for text in (swap.now, swap.restored)
    )
    return {
        word
        for line in now ^ restored
        for word in line.replace(",", " ").split()[1:]
        if re.fullmatch(r"[a-z]+[0-9]+", word)
    }


Planner = Callable[[_Files, Sequence[Step], Live], tuple[list[Step], list[Step]]]
PLANNERS: dict[str, Planner] = {"openbsd": _openbsd, "freebsd": _freebsd, "netbsd": _netbsd}

__all__ = ["Live", "Swap", "Undo", "plan_undo", "swaps_of", "with_undo"]
