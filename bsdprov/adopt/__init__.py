"""``bsdprov import``: a live host's network files read back into an inventory entry.

Pure core: the files (path -> text, as the probe read them) go in, an ``Imported`` comes out.
Each OS's parser (``openbsd``, ``freebsd``, ``netbsd``; ``vmd`` for a hypervisor's files) is
the inverse of its renderer. The entry is then checked the way a deploy would use it: it must
validate as an inventory host, and rendering it and parsing the result again must give the
same entry; the files a first deploy would still rewrite (bsdprov's header comment, another
layout of the same settings) are listed. Lines the model cannot express are never dropped
silently: each is a ``Note``, and its interface is left out of the entry (unmanaged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bsdprov.adopt.common import COMMENT, Entry, Note, content_lines
from bsdprov.adopt.entry import build_entry, clean
from bsdprov.adopt.vmd import VMD_PATHS
from bsdprov.errors import UsageError
from bsdprov.facts import ObservedFile
from bsdprov.model import Host, Vm
from bsdprov.plan import UNCHANGED_COMMENTS, FileChange, mask_secrets, plan_host
from bsdprov.render import FileEdit, FileSpec, Rendered, file_content, render_host
from bsdprov.render.hypervisor import DHCPD_CONF, VM_CONF
from bsdprov.render.pf import ANCHOR_DIR, PF_CONF, PF_INCLUDED
from bsdprov.vmd import guests_of

# What the import probe reads: fixed paths, and the patterns of per-interface files.
IMPORT_PATHS = ("/etc/mygate", "/etc/myname", "/etc/rc.conf", "/etc/dhcpcd.conf", *VMD_PATHS)
IMPORT_GLOBS = ("/etc/hostname.*", "/etc/ifconfig.*", "/etc/pf.vm/*.conf")

__all__ = ["IMPORT_GLOBS", "IMPORT_PATHS", "Imported", "Note", "import_host"]


@dataclass(frozen=True, slots=True)
class Imported:
    """The entry for one host (plain data, inventory schema), its guests' ``vm:`` keys (for
    a vmd hypervisor), what was not imported, and what a first deploy would still rewrite."""

    name: str
    entry: Entry
    guests: dict[str, Entry]
    notes: tuple[Note, ...]
    rewrites: tuple[str, ...]


def import_host(
    name: str,
    os: str,
    release: str | None,
    files: Mapping[str, str],
    address: str | None = None,
    disk_sizes: Mapping[str, str] | None = None,
    known: Mapping[str, Host] | None = None,
    port: int = 22,
    modes: Mapping[str, tuple[int | None, str | None, str | None]] | None = None,
) -> Imported:
    """Build ``name``'s entry from ``files`` read on a host running ``os`` ``release``.

    ``disk_sizes`` (image path -> size such as ``20G``) fill a hypervisor's guests' disks;
    ``known`` (the inventory's hosts) lets a hypervisor's check render its guests as they are;
    ``port`` is the SSH port (an owned pf.conf keeps it open); ``modes`` (path -> mode, owner,
    group as the probe saw them) let the check report mode changes a deploy would make.
    """
    texts = dict(files)
    sizes = dict(disk_sizes or {})
    observed = {
        path: ObservedFile(path, text, *(modes or {}).get(path, (None, None, None)))
        for path, text in texts.items()
    }
    first = _checked(name, os, release, texts, address, port, sizes, known or {}, True)
    entry, guests, notes, rendered = first
    vmd_files = [
        change
        for change in plan_host(rendered, observed).changes
        if change.meaningful and _vmd_owned(change.path)
    ]
    if vmd_files:
        # A vmd file bsdprov owns whole but would write otherwise: it reads back the same
        # only because its other lines are derived. Leave the vmd part to the admin.
        entry, guests, notes, rendered = _checked(
            name, os, release, texts, address, port, sizes, known or {}, False
        )
        notes = [_vmd_note(change) for change in vmd_files] + notes
    plan = plan_host(rendered, observed)
    rewritten = {c.path for c in plan.changes if c.action == "modify"}
    notes += _dropped_comments(rendered.files, texts, rewritten)
    notes += _vms_not_running_here(name, entry, guests, known or {})
    rewrites = tuple(
        _rewrite(change)
        for change in plan.changes
        if change.before.mode is not None or change.action != "metadata"
    ) + tuple(note for note in plan.notes if note.endswith(UNCHANGED_COMMENTS))
    return Imported(name, entry, guests, tuple(notes), rewrites)


def _checked(
    name: str,
    os: str,
    release: str | None,
    texts: dict[str, str],
    address: str | None,
    port: int,
    sizes: dict[str, str],
    known: Mapping[str, Host],
    vmd: bool,
) -> tuple[Entry, dict[str, Entry], list[Note], Rendered]:
    """The entry, checked: what bsdprov would write from it reads back as the same entry."""
    host, entry, guests, notes = build_entry(name, os, texts, address, port, sizes, vmd)
    hosts = _with_guests(host, guests, known)
    rendered = render_host(host, os, release, guests_of(hosts, name) if host.is_hypervisor else ())
    rewritten = {spec.path: file_content(spec, texts.get(spec.path)) for spec in rendered.files}
    _, again, again_guests, _ = build_entry(
        name, os, {**texts, **rewritten}, address, port, sizes, vmd
    )
    if (clean(again), clean(again_guests)) != (clean(entry), clean(guests)):
        differ = sorted(k for k in entry.keys() | again.keys() if entry.get(k) != again.get(k))
        raise UsageError(
            f"import of {name!r}: the files bsdprov would write do not read back as the entry "
            f"(keys {', '.join(differ) or 'of the guests'} differ); nothing was imported: "
            "please report this as a bug, with the files"
        )
    return entry, guests, notes, rendered


def _vmd_owned(path: str) -> bool:
    return path in (VM_CONF, DHCPD_CONF, PF_INCLUDED, PF_CONF) or path.startswith(f"{ANCHOR_DIR}/")


def _vmd_note(change: FileChange) -> Note:
    before = (change.before.content or "").splitlines()
    after = set((change.after or "").splitlines())
    first = next(
        (
            (i, line.strip())
            for i, line in enumerate(before, 1)
            if line.strip() and not line.strip().startswith("#") and line not in after
        ),
        (None, ""),
    )
    why = {
        "remove": "would be removed (no VM of vm.conf has it)",
        "create": "is missing",
    }.get(change.action, "is not what bsdprov writes")
    hint = (
        "; import the VM's host first: its addresses make the anchor's anti-spoofing rules"
        if change.path.startswith(f"{ANCHOR_DIR}/") and change.action == "modify"
        else ""
    )
    return Note(
        change.path,
        first[0],
        first[1],
        f"{why}: the vmd part (switches, VMs, NAT, DHCP, pf) is left unmanaged{hint}",
    )


def _vms_not_running_here(
    name: str, entry: Entry, guests: dict[str, Entry], known: Mapping[str, Host]
) -> list[Note]:
    """Inventory hosts whose VM names this hypervisor but which vm.conf does not have: their
    ``vm:`` stays, so a deploy would add them."""
    if "switches" not in entry:
        return []
    return [
        Note(
            "",
            None,
            f"host {other.name}",
            f"has a vm on {name} in the inventory, but /etc/vm.conf has no VM {other.name!r}: "
            "its vm key is kept, and a deploy would add that VM",
        )
        for other in known.values()
        if other.vm is not None and other.vm.hypervisor == name and other.name not in guests
    ]


def _dropped_comments(
    specs: tuple[FileEdit, ...], texts: Mapping[str, str], rewritten: set[str]
) -> list[Note]:
    """The admin's comments in files a deploy rewrites whole (rc.conf, sysctl.conf and
    pf.conf are edited by key or line: their comments stay; a file that differs only in
    comments is left as it is)."""
    found = []
    for spec in specs:
        if not isinstance(spec, FileSpec) or spec.path not in texts or spec.path not in rewritten:
            continue
        kept = {line.strip() for line in spec.content.splitlines()}
        found += [
            Note(spec.path, number, line, COMMENT)
            for number, line in content_lines(texts[spec.path])
            if line.startswith("#") and line not in kept
        ]
    return found


def _rewrite(change: FileChange) -> str:
    what = {
        "create": "creates it",
        "remove": "removes it",
        "metadata": f"sets its mode to {change.mode:04o} {change.owner}:{change.group}",
    }.get(change.action)
    if what is None and change.meaningful:
        what = f"rewrites it (the imported keys read back the same): {_changed_lines(change)}"
    elif what is None:
        what = "changes only comments, such as bsdprov's header (no command runs)"
    return f"{change.path}: a first deploy {what}"


def _changed_lines(change: FileChange, shown: int = 4) -> str:
    """The lines a rewrite removes (-) and adds (+), comments aside, secrets masked."""

    def significant(text: str | None) -> list[str]:
        lines = (line.strip() for line in (text or "").splitlines())
        return [line for line in lines if line and not line.startswith("#")]

    before, after = significant(change.before.content), significant(change.after)
    words = [f"-{line}" for line in before if line not in after]
    words += [f"+{line}" for line in after if line not in before]
    if not words:
        return "the same lines in another order"
    more = f" (and {len(words) - shown} more)" if len(words) > shown else ""
    return mask_secrets(" ".join(repr(w) for w in words[:shown])) + more


def _with_guests(
    host: Host, guests: dict[str, Entry], known: Mapping[str, Host]
) -> dict[str, Host]:
    hosts: dict[str, Host] = {host.name: host}
    for guest, vm in guests.items():
        base = known.get(guest) or Host(name=guest)
        hosts[guest] = base.model_copy(update={"vm": Vm.model_validate(clean(vm))})
    return hosts


def public_entry(imported: Imported) -> Entry:
    """The entry without the parsers' private keys: what is printed and written."""
    cleaned: Entry = clean(imported.entry)
    return cleaned


def public_guests(imported: Imported) -> dict[str, Entry]:
    cleaned: dict[str, Entry] = clean(imported.guests)
    return cleaned
