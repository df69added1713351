"""Compare what a host should have with what it has: file changes, and the steps they trigger.

Pure: ``plan_host`` takes the rendered host and the observed files (as a probe read them) and
returns a ``Plan``; nothing here touches a host.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bsdprov.drift import Drift
from bsdprov.errors import RenderError
from bsdprov.facts import ObservedFile
from bsdprov.lifecycle import (
    VM_CONF,
    VmOptions,
    bhyve_changes,
    unrestarted_checks,
    vm_changes,
    with_dropped_switches,
    with_vm_changes,
)
from bsdprov.render import FileSpec, LineEdit, Rendered, Step, VarsEdit, file_content
from bsdprov.render.base import Check, Creation, FileEdit
from bsdprov.render.bhyve import recorded_switches
from bsdprov.render.shellvars import ASSIGNMENT_RE, SIMPLE_VALUE_RE

# Values of these ifconfig/hostname.if keywords are secrets: masked in every diff and log.
# carp's "pass" is not pf's rule keyword: a pf rule's "pass" is followed by one of its own words.
PF_AFTER_PASS = r"(?:in|out|quick|on|log|all|inet6?|proto|from|to|no|keep|tag|tagged|label)\b"
SECRET_RE = re.compile(
    rf"\b(wpakey|wgkey|wgpsk|nwkey|pass(?![ \t]+{PF_AFTER_PASS})|psk|key)([ \t]+|=)"
    r"(\"[^\"]*\"|[^\s#]\S*)"
)


# The plan's note for a file kept because it differs from the rendering only in comments.
UNCHANGED_COMMENTS = "differs only in comments: left as is"


def mask_secrets(text: str) -> str:
    """Replace secret values (wpakey, wgkey, carp pass, ...) with asterisks."""
    return SECRET_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}********", text)


@dataclass(frozen=True, slots=True)
class FileChange:
    """One file to write (or, with ``after`` None, to remove): old and new content, metadata."""

    path: str
    before: ObservedFile
    after: str | None
    mode: int
    owner: str
    group: str

    @property
    def action(self) -> str:
        if self.after is None:
            return "remove"
        if self.before.content is None:
            return "create"
        return "modify" if self.before.content != self.after else "metadata"

    @property
    def meaningful(self) -> bool:
        """Whether the OS would act differently: comment-only edits are not (all the files
        bsdprov writes treat ``#`` lines as comments)."""
        if self.action != "modify":
            return self.action != "metadata"
        return _lines_read(self.before.content or "") != _lines_read(self.after or "")

    @property
    def changed_keys(self) -> frozenset[str]:
        """For sh-sourced files: the variable names whose value changes."""
        old, new = shell_values(self.before.content or ""), shell_values(self.after or "")
        return frozenset(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))


@dataclass(frozen=True, slots=True)
class Removal:
    """Something bsdprov owned that the inventory dropped, and the commands that remove it
    from the running system (``ownership.claim``)."""

    what: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a deploy would do on one host."""

    host: str
    os: str
    changes: tuple[FileChange, ...]
    checks: tuple[Step, ...]
    steps: tuple[Step, ...]
    verify: tuple[Check, ...]
    prepare: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    # Made before any file is installed, and undone by this run's rollback (Creation.undo).
    makes: tuple[Creation, ...] = ()
    # What rolling this plan back runs, on the restored files (``rollback.with_undo``).
    undo_checks: tuple[Step, ...] = ()
    undo_steps: tuple[Step, ...] = ()
    # How the running system differs from the files (bsdprov/drift.py); the steps above
    # include those that repair it.
    drift: tuple[Drift, ...] = ()
    # What is removed from the running system (its steps are also in ``steps``, first).
    removals: tuple[Removal, ...] = ()

    @property
    def has_changes(self) -> bool:
        return bool(self.changes or self.prepare or self.makes or self.drift)

    def diff(self) -> str:
        """Unified diffs headed ``a/<host>:<path>``, secrets masked; "no changes" if none."""
        if not self.changes:
            return f"{self.host}: no changes\n"
        return "".join(file_diff(self.host, change) for change in self.changes)


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Choices a deploy makes beyond the inventory."""

    vms: VmOptions = VmOptions()
    # Paths left as they are (the uplink carrying the SSH session), with the reason.
    hold: Mapping[str, str] = field(default_factory=dict)


def plan_host(
    rendered: Rendered,
    observed: Mapping[str, ObservedFile],
    existing: Iterable[str] = (),
    options: PlanOptions = PlanOptions(),
    drift: Iterable[Drift] = (),
) -> Plan:
    """Plan ``rendered`` against ``observed`` files (missing paths count as absent), the
    ``existing`` paths among ``rendered.creates`` and the running system's ``drift``: what
    drifted re-runs the activation steps its triggers name, as a file change would."""
    changes, notes = [], []
    # Drift repaired by a held file's steps (a hypervisor's uplink) is left as the file is:
    # re-running them would bounce what the hold protects, and could not repair it anyway.
    drift, held = _unheld(tuple(drift), options.hold)
    notes += [f"running system differs: {d.what}; left as it is: {why}" for d, why in held]
    # A bhyve switch bsdprov recorded and the inventory dropped leaves system.conf too.
    files = with_dropped_switches(rendered.files, lambda p: _content(observed, p))
    _refuse_taking_the_admins_switch_address(files, observed)
    for spec in files:
        before = observed.get(spec.path, ObservedFile(spec.path, None))
        after = file_content(spec, before.content)
        if isinstance(spec, LineEdit) and not spec.lines and before.content in (None, after):
            continue  # an edit that only takes lines out never makes a file nor sets its mode
        if isinstance(spec, FileSpec) and comments_only(before.content, after):
            # The admin's comments (or a missing header) change nothing the OS reads: the file
            # is kept, comments and all; only a mode or owner change would still be made.
            after = before.content or ""
            notes.append(f"{spec.path} {UNCHANGED_COMMENTS}")
        if (before.content, before.mode, before.owner, before.group) != (
            after,
            spec.mode,
            spec.owner,
            spec.group,
        ):
            if spec.path in options.hold:
                notes.append(f"{spec.path} differs but is left as it is: {options.hold[spec.path]}")
                continue
            changes.append(FileChange(spec.path, before, after, spec.mode, spec.owner, spec.group))
    removals = _removals(rendered, observed)
    changes += [change for change, _ in removals]
    content_changes = [c for c in changes if c.meaningful]
    repairs = [trigger for d in drift for trigger in d.triggers]
    deletions = tuple(step for d in drift for step in d.steps)
    steps = (
        deletions
        + select_steps(rendered.steps, content_changes, repairs)
        + tuple(s for _, s in removals if s)
    )
    vm_conf = next((c for c in content_changes if c.path == VM_CONF), None)
    if vm_conf is not None:
        vms = vm_changes(vm_conf.before.content, vm_conf.after, options.vms)
        steps = with_vm_changes(steps, vms)
        notes += vms.notes
    steps, bhyve_notes = bhyve_changes(
        steps, [(c.path, c.before.content, c.after) for c in content_changes], options.vms
    )
    notes += bhyve_notes
    present = set(existing)
    prepare = tuple(
        Step(c.argv, c.why, False, (c.path,))
        for c in rendered.creates
        if c.path not in present and not c.undo
    )
    makes = tuple(c for c in rendered.creates if c.path not in present and c.undo)
    checks = rendered.checks if changes or prepare or makes or drift else ()
    verify = rendered.verify if content_changes or prepare or makes or drift else ()
    verify = unrestarted_checks(
        verify, steps, [(c.path, c.before.content, c.after) for c in content_changes]
    )
    return Plan(
        rendered.host,
        rendered.os,
        tuple(changes),
        checks,
        steps,
        verify,
        prepare,
        tuple(notes),
        makes=makes,
        drift=drift,
    )


def _unheld(
    drift: tuple[Drift, ...], hold: Mapping[str, str]
) -> tuple[tuple[Drift, ...], list[tuple[Drift, str]]]:
    """``drift`` without what a held path's steps repair, and those with the hold's reason."""
    kept, held = [], []
    for d in drift:
        why = next((hold[p] for t in d.triggers if (p := t.partition("#")[0]) in hold), None)
        if why is None:
            kept.append(d)
        else:
            held.append((d, why))
    return tuple(kept), held


def _content(observed: Mapping[str, ObservedFile], path: str) -> str | None:
    found = observed.get(path)
    return found.content if found else None


def _removals(
    rendered: Rendered, observed: Mapping[str, ObservedFile]
) -> list[tuple[FileChange, Step | None]]:
    """Files matching an owned pattern that the rendering no longer has: removed, and undone."""
    wanted = {spec.path for spec in rendered.files}
    found = []
    for owned in rendered.owned_globs:
        for path, before in sorted(observed.items()):
            if (
                path in wanted
                or before.content is None
                or not fnmatch.fnmatchcase(path, owned.pattern)
            ):
                continue
            change = FileChange(
                path,
                before,
                None,
                before.mode or 0o600,
                before.owner or "root",
                before.group or "wheel",
            )
            stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
            undo = tuple(
                word.replace("{stem}", stem).replace("{path}", path) for word in owned.on_remove
            )
            step = Step(undo, f"{path} is no longer rendered", True, (path,)) if undo else None
            found.append((change, step))
    return found


def select_steps(
    steps: Iterable[Step], changes: Iterable[FileChange] | None, repairs: Iterable[str] = ()
) -> tuple[Step, ...]:
    """The steps the changes trigger, in order, each command once (None: everything changed).
    ``repairs`` are triggers (``path`` or ``path#key``) of drifted live state: they select
    steps as a change of that file (or key) would."""
    changes = None if changes is None else list(changes)
    repairs = list(repairs)
    if changes == [] and not repairs:
        return ()
    paths = None if changes is None else {c.path for c in changes}
    keys = None if changes is None else {(c.path, k) for c in changes for k in c.changed_keys}
    if paths is not None and keys is not None:
        for trigger in repairs:
            path, _, key = trigger.partition("#")
            if key:
                keys.add((path, key))
            else:
                paths.add(path)
    chosen: list[Step] = []
    seen: set[tuple[str, ...]] = set()
    for step in steps:
        if step.argv in seen or not _triggered(step, paths, keys):
            continue
        seen.add(step.argv)
        chosen.append(step)
    return tuple(chosen)


def _triggered(step: Step, paths: set[str] | None, keys: set[tuple[str, str]] | None) -> bool:
    if paths is None or keys is None or not step.triggers:
        return True
    for trigger in step.triggers:
        path, _, pattern = trigger.partition("#")
        if not pattern and path in paths:
            return True
        if pattern and any(p == path and fnmatch.fnmatchcase(k, pattern) for p, k in keys):
            return True
    return False


def comments_only(before: str | None, after: str) -> bool:
    """Whether two texts of a file bsdprov writes whole differ only in ``#`` lines and blank
    lines. Every such file reads a line whose first word starts with ``#`` as a comment
    (hostname.if(5) and mygate by netstart, ifconfig.if(5) by rc.d/network, vm.conf(5),
    dhcpd.conf(5), pf.conf(5)). A line ending in a backslash joins the next one (netstart's
    ``read`` without -r, the parse.y continuation), so a file with one is never judged so;
    nor is one whose last line has no newline (``while read`` loops skip that line)."""
    if before is None or before == after or not before.endswith("\n"):
        return False
    if any(line.rstrip().endswith("\\") for line in (before + "\n" + after).splitlines()):
        return False
    return _lines_read(before) == _lines_read(after)


def _lines_read(text: str) -> list[str]:
    """The lines the OS reads, blanks at their ends aside: only space and tab are blanks to
    sh's ``read`` and the parse.y lexers (a CR or form feed is part of a word)."""
    lines = (line.strip(" \t") for line in text.split("\n"))
    return [line for line in lines if line and not line.startswith("#")]


def _refuse_taking_the_admins_switch_address(
    files: Iterable[FileEdit], observed: Mapping[str, ObservedFile]
) -> None:
    """A switch bsdprov declares for the first time (not in its record) whose system.conf
    already gives it a host address (addr_NAME) the inventory leaves out: dropping the key
    would make bhyve-apply take the address off the live bridge, which may be the one the
    SSH session uses (the host's address on a bridged uplink, as FreeBSD 15 wants it)."""
    for spec in files:
        if not (isinstance(spec, VarsEdit) and spec.path.endswith("/.config/system.conf")):
            continue
        record = spec.path.removesuffix("system.conf") + "bsdprov-switches"
        ours = set(recorded_switches(_content(observed, record)))
        have = shell_values(_content(observed, spec.path) or "")
        for key in spec.remove:
            name = key.removeprefix("addr_")
            if key.startswith("addr_") and have.get(key) and name not in ours:
                raise RenderError(
                    f"{spec.path}: {key}={have[key]!r} puts a host address on switch {name!r}, "
                    f"which the inventory does not: add 'bhyve.switches.{name}.address: "
                    f"{have[key]}' (or remove {key} by hand first)"
                )


def shell_values(text: str) -> dict[str, str]:
    """Simple ``name=value`` assignments of an sh-sourced file (the last one wins)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = ASSIGNMENT_RE.fullmatch(line)
        parsed = SIMPLE_VALUE_RE.fullmatch(match.group(2)) if match else None
        if match and parsed:
            values[match.group(1)] = next(
                v for v in parsed.group("dq", "sq", "bare") if v is not None
            )
        elif match:
            values[match.group(1)] = match.group(2)
    return values


def _lines(text: str) -> list[str]:
    """The file's lines as sh and the OS's parsers see them: ended by line feeds only
    (str.splitlines also ends one at a CR, a form feed or U+2028, which showed a line of the
    file as two, the first "\\ No newline at end of file")."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def file_diff(host: str, change: FileChange) -> str:
    """One file's unified diff, plus a line for a mode or owner change."""
    before = change.before
    old = _lines(mask_secrets(before.content or ""))
    new = _lines(mask_secrets(change.after or ""))
    origin = f"a/{host}:{change.path}" if before.content is not None else "/dev/null"
    target = f"b/{host}:{change.path}" if change.after is not None else "/dev/null"
    lines = list(difflib.unified_diff(old, new, origin, target))
    text = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )
    if not text:
        text = f"--- a/{host}:{change.path}\n+++ b/{host}:{change.path}\n"
    wanted = (change.mode, change.owner, change.group)
    if (
        change.after is not None
        and before.content is not None
        and (before.mode, before.owner, before.group) != wanted
    ):
        old_meta = f"{before.mode or 0:04o} {before.owner}:{before.group}"
        text += f"# mode/owner {old_meta} -> {change.mode:04o} {change.owner}:{change.group}\n"
    return text


__all__ = [
    "FileChange",
    "FileSpec",
    "ObservedFile",
    "UNCHANGED_COMMENTS",
    "Plan",
    "Removal",
    "VarsEdit",
    "mask_secrets",
    "plan_host",
    "select_steps",
]
