"""What a change of /etc/vm.conf means for running VMs: stop removed ones, restart changed ones.

``vmctl reload`` (the renderer's ``VMD_STEP``) re-reads vm.conf and starts new VMs, but a
running VM keeps its old definition and a VM removed from the file keeps running (vmctl(8)). So
the planner compares the VM blocks before and after and adds the commands reload does not do.
Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bsdprov.render.base import Check, FileEdit, FileSpec, Step, VarsEdit
from bsdprov.render.bhyve import (
    BHYVE_APPLY,
    RC_CONF,
    VM,
    guest_conf,
    recorded_switches,
    switch_record,
    system_conf,
    system_conf_edit,
)
from bsdprov.render.hypervisor import PURGE_DISK, VMD_STEP
from bsdprov.render.shellvars import ASSIGNMENT_RE, SIMPLE_VALUE_RE

VM_CONF = "/etc/vm.conf"
_BLOCK_RE = re.compile(r'^vm "([^"]+)" \{\n(.*?)^\}$', re.M | re.S)
_DISK_RE = re.compile(r'^\s*disk "([^"]+)"', re.M)


@dataclass(frozen=True, slots=True)
class VmOptions:
    restart_vms: bool = False
    purge_disks: bool = False


@dataclass(frozen=True, slots=True)
class VmChanges:
    before_reload: tuple[Step, ...]
    after_reload: tuple[Step, ...]
    last: tuple[Step, ...]
    notes: tuple[str, ...]


def vm_blocks(text: str | None) -> dict[str, str]:
    """``vm "NAME" { ... }`` blocks of a vm.conf bsdprov wrote, by name."""
    return {m.group(1): m.group(2) for m in _BLOCK_RE.finditer(text or "")}


def vm_changes(before: str | None, after: str | None, options: VmOptions) -> VmChanges:
    old, new = vm_blocks(before), vm_blocks(after)
    on = (VM_CONF,)
    stops, restarts, purges, notes = [], [], [], []
    for name in [n for n in old if n not in new]:
        stops.append(Step(("vmctl", "stop", "-w", name), f"{name} left the inventory", True, on))
        kept = set(_DISK_RE.findall(after or ""))
        disks = [d for d in _DISK_RE.findall(old[name]) if d not in kept]
        if options.purge_disks:
            purges += [
                Step(
                    ("sh", "-c", PURGE_DISK, "vm-disk", disk),
                    f"--purge-disks: {name}'s disk, if bsdprov created it",
                    False,
                    on,
                )
                for disk in disks
            ]
        elif disks:
            notes.append(f"{name} is removed; its disk {', '.join(disks)} is kept (--purge-disks)")
    for name in [n for n in new if n in old and old[n] != new[n]]:
        if options.restart_vms:
            # Stopped before the reload: vmd keeps a running VM's definition across a reload
            # (its config is registered again only for VMs that are not running), so a VM
            # stopped and started after the reload would come back with the old definition.
            stops.append(
                Step(
                    ("vmctl", "stop", "-w", name),
                    "--restart-vms: take the new definition",
                    True,
                    on,
                )
            )
            # The reload itself starts a stopped VM that vm.conf enables ("already in
            # progress" then): the start may fail; verify checks that the VM runs.
            restarts.append(
                Step(
                    ("vmctl", "start", name),
                    "--restart-vms: start with the new definition",
                    True,
                    on,
                )
            )
        else:
            notes.append(
                f"{name}'s definition changed; if it runs, it keeps the old one until "
                "restarted (deploy --restart-vms)"
            )
    return VmChanges(tuple(stops), tuple(restarts), tuple(purges), tuple(notes))


def with_vm_changes(steps: tuple[Step, ...], changes: VmChanges) -> tuple[Step, ...]:
    """Put stops before the step that reloads vmd, starts of restarted VMs right after it, purges
    last."""
    reload = next((i for i, s in enumerate(steps) if s.argv == VMD_STEP), None)
    if reload is None:
        return steps + changes.before_reload + changes.after_reload + changes.last
    restarted = {s.argv for s in changes.after_reload}
    return (
        steps[:reload]
        + changes.before_reload
        + steps[reload : reload + 1]
        + changes.after_reload
        + tuple(s for s in steps[reload + 1 :] if s.argv not in restarted)
        + changes.last
    )


# --- FreeBSD bhyve (vm-bhyve) --------------------------------------------------------------
# The activation helper (render/bhyve.py) starts listed guests that are not running; like
# vmctl reload, it neither restarts a running guest whose NAME.conf changed (bhyve took its
# devices when it started) nor stops a guest the inventory dropped. The planner adds both.

_VM_LIST_RE = re.compile(r'^vm_list="([^"]*)"', re.M)


def _vm_list(text: str | None) -> list[str]:
    match = _VM_LIST_RE.search(text or "")
    return match.group(1).split() if match else []


def _record_of(files: Sequence[FileEdit]) -> tuple[str, FileSpec] | None:
    """(vm_dir, the switch record) of a bhyve hypervisor's rendering, if it is one."""
    for spec in files:
        if isinstance(spec, FileSpec) and spec.path.endswith("/.config/bsdprov-switches"):
            vm_dir = spec.path.removesuffix("/.config/bsdprov-switches")
            if spec.path == switch_record(vm_dir):
                return vm_dir, spec
    return None


def dropped_switches(files: Sequence[FileEdit], recorded: str | None) -> tuple[str, ...]:
    """The switches the host's record (``recorded``, its text) holds and the rendering no
    longer has: bsdprov declared them, so they go. A host without a record (deployed before
    bsdprov kept one) drops nothing."""
    found = _record_of(files)
    if found is None:
        return ()
    wanted = set(recorded_switches(found[1].content))
    return tuple(s for s in recorded_switches(recorded) if s not in wanted)


def with_dropped_switches(
    files: Sequence[FileEdit], observed: Callable[[str], str | None]
) -> tuple[FileEdit, ...]:
    """``files`` with system.conf's edit also dropping the recorded switches the rendering no
    longer has (``observed`` gives a path's current text)."""
    found = _record_of(files)
    if found is None:
        return tuple(files)
    vm_dir, record = found
    dropped = dropped_switches(files, observed(record.path))
    if not dropped:
        return tuple(files)
    out: list[FileEdit] = []
    for spec in files:
        if isinstance(spec, VarsEdit) and spec.path == system_conf(vm_dir):
            values = dict(spec.assign)
            addresses = {
                k.removeprefix("addr_"): str(v) for k, v in values.items() if k.startswith("addr_")
            }
            out.append(system_conf_edit(vm_dir, _switch_ports(spec), dropped, addresses))
        else:
            out.append(spec)
    return tuple(out)


def _switch_ports(edit: VarsEdit) -> dict[str, tuple[str, ...]]:
    """The switches (name -> ports) a rendered system.conf edit declares."""
    values = dict(edit.assign)
    names = [k.removeprefix("type_") for k, _ in edit.assign if k.startswith("type_")]
    return {n: tuple(str(values.get(f"ports_{n}", "")).split()) for n in names}


def bhyve_changes(
    steps: tuple[Step, ...],
    changes: Sequence[tuple[str, str | None, str | None]],
    options: VmOptions,
) -> tuple[tuple[Step, ...], tuple[str, ...]]:
    """Stops of dropped guests before the helper, restarts of changed ones after it.

    ``changes`` are (path, before, after) of the changed files."""
    at = next((i for i, s in enumerate(steps) if s.argv[:2] == ("sh", BHYVE_APPLY)), None)
    if at is None:
        return steps, ()
    vm_dir, guests = steps[at].argv[2], steps[at].argv[4].split()
    switches = steps[at].argv[3].split()
    stops: list[Step] = []
    restarts: list[Step] = []
    notes: list[str] = []
    for path, before, after in changes:
        if path == switch_record(vm_dir):
            old, new = recorded_switches(before), recorded_switches(after)
            for name in (s for s in old if s not in new and s not in switches):
                switches.append(name)
                notes.append(
                    f"switch {name} is removed: its bridge vm-{name} is destroyed, its ports "
                    "released; a guest still on it loses its link until restarted"
                )
            continue
        if path == system_conf(vm_dir):
            notes += [
                f"{port} leaves switch {name}: it is taken out of vm-{name}"
                for name, port in _dropped_ports(before, after)
            ]
            continue
        if path == RC_CONF:
            for name in [n for n in _vm_list(before) if n not in guests]:
                stops.append(Step((VM, "stop", name), f"{name} left the inventory", True))
                notes.append(
                    f"{name} is removed; its directory {vm_dir}/{name} and its disk are kept "
                    f"(vm destroy {name} removes them)"
                )
            continue
        name = path.rsplit("/", 1)[-1].removesuffix(".conf")
        if path != guest_conf(vm_dir, name) or name not in guests or before is None:
            continue
        if before == after:
            continue
        if options.restart_vms:
            restarts.append(
                Step(
                    (VM, "restart", name),
                    "--restart-vms: stop, then start with the new definition (fails when it "
                    "does not run; verify proves it runs)",
                    True,
                )
            )
        else:
            notes.append(
                f"{name}'s definition changed; if it runs, it keeps the old one until "
                "restarted (deploy --restart-vms)"
            )
    helper = steps[at]
    helper = Step((*helper.argv[:3], " ".join(switches), *helper.argv[4:]), *_rest(helper))
    return steps[:at] + tuple(stops) + (helper,) + tuple(restarts) + steps[at + 1 :], tuple(notes)


def unrestarted_checks(
    verify: Sequence[Check],
    steps: Sequence[Step],
    changes: Sequence[tuple[str, str | None, str | None]],
) -> tuple[Check, ...]:
    """``verify`` without the tap-in-its-switch checks of guests whose NAME.conf changed and
    that the plan does not restart: a running guest keeps the tap of its old switch until it
    restarts (the plan notes it), so those checks would fail a deploy that did what it says."""
    at = next((s for s in steps if s.argv[:2] == ("sh", BHYVE_APPLY)), None)
    if at is None:
        return tuple(verify)
    vm_dir = at.argv[2]
    restarted = {s.argv[2] for s in steps if s.argv[:2] == (VM, "restart")}
    stale = {
        (name,)
        for path, before, after in changes
        for name in [path.rsplit("/", 1)[-1].removesuffix(".conf")]
        if path == guest_conf(vm_dir, name) and before is not None and before != after
        if name not in restarted
    }
    return tuple(
        c
        for c in verify
        if not (c.argv[:2] == (VM, "info") and c.argv[2:] in stale and "bridge: " in c.expect)
    )


def _rest(step: Step) -> tuple[str, bool, tuple[str, ...]]:
    return step.why, step.may_fail, step.triggers


def _dropped_ports(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """(switch, port) for each port a switch of both texts of system.conf lost."""
    old, new = _shell_values(before), _shell_values(after)
    return [
        (key.removeprefix("ports_"), port)
        for key, value in old.items()
        if key.startswith("ports_") and f"type_{key.removeprefix('ports_')}" in new
        for port in value.split()
        if port not in new.get(key, "").split()
    ]


def _shell_values(text: str | None) -> dict[str, str]:
    """Simple ``name=value`` assignments of an sh-sourced file (as plan.shell_values)."""
    values: dict[str, str] = {}
    for line in (text or "").splitlines():
        match = ASSIGNMENT_RE.fullmatch(line)
        parsed = SIMPLE_VALUE_RE.fullmatch(match.group(2)) if match else None
        if match and parsed:
            values[match.group(1)] = next(
                v for v in parsed.group("dq", "sq", "bare") if v is not None
            )
    return values


def bhyve_undo(paths: Iterable[str], rc_keys: set[str], forward: Sequence[Step]) -> list[Step]:
    """A rollback's vm-bhyve steps (``rollback.py``): the helper again on the restored files,
    which starts or stops guests and removes switches whichever way they changed, for the
    run's guests and those it stopped; a guest the run restarted is restarted again to take
    its restored definition."""
    helper = next((s for s in forward if s.argv[:2] == ("sh", BHYVE_APPLY)), None)
    if helper is None:
        return []
    vm_dir = helper.argv[2]
    touched = any(k.startswith("vm_") for k in rc_keys) or any(
        p.startswith(f"{vm_dir}/") for p in paths
    )
    if not touched:
        return []
    guests = helper.argv[4].split()
    guests += [s.argv[2] for s in forward if s.argv[:2] == (VM, "stop") and s.argv[2] not in guests]
    why = "the rollback: vm-bhyve from the restored files"
    steps = [Step((*helper.argv[:4], " ".join(guests)), why)]
    steps += [
        Step((VM, "restart", s.argv[2]), "the rollback: take the restored definition", True)
        for s in forward
        if s.argv[:2] == (VM, "restart")
    ]
    return steps
