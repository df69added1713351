"""The boot hook: the line of ``/etc/rc.local`` that lets a restarted host roll back a run it
was left with unconfirmed (``txn.sh boot``; /etc/rc on OpenBSD and rc.d/local on FreeBSD and
NetBSD run rc.local late in the boot).

The file is shell (OpenBSD /etc/rc: ``sh /etc/rc.local``; FreeBSD and NetBSD rc.d/local:
``. /etc/rc.local``), so a line after an admin's ``exit`` never runs: the hook goes before the
admin's first command, after the leading comment header.

It is part of the plan like any managed line (shown, backed up, restored by a rollback), added
to every plan that changes something and placed first, so that it is on the host before the
first file of the run is installed. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bsdprov.facts import ObservedFile
from bsdprov.plan import FileChange, Plan

RC_LOCAL = "/etc/rc.local"
# The text every bsdprov release has written: a host that has it already needs no change.
BOOT_HOOK = "[ -f /var/db/bsdprov/txn.sh ] && sh /var/db/bsdprov/txn.sh boot # bsdprov"


def with_boot_hook(plan: Plan, observed: Mapping[str, ObservedFile]) -> Plan:
    """``plan`` with the hook's line edit of /etc/rc.local first, when it changes anything and
    the hook is missing. An existing rc.local keeps its mode and owner."""
    if not plan.has_changes or any(change.path == RC_LOCAL for change in plan.changes):
        return plan
    before = observed.get(RC_LOCAL, ObservedFile(RC_LOCAL, None))
    after = hooked_rc_local(before.content)
    if after == before.content:
        return plan
    change = FileChange(
        RC_LOCAL,
        before,
        after,
        before.mode or 0o644,
        before.owner or "root",
        before.group or "wheel",
    )
    return replace(plan, changes=(change, *plan.changes))


def hooked_rc_local(content: str | None) -> str:
    """``content`` (None: no rc.local) with the hook as its first line after the leading blank
    and comment lines (``#!/bin/sh``, an RCS id): before any command, so that no ``exit``, ``set
    -e`` or failing line of the admin's can skip it. A hook found further down (an earlier
    release appended it, after a final ``exit 0`` where it never ran) is moved up."""
    lines = [
        line for line in (content or "").splitlines(keepends=True) if line.strip() != BOOT_HOOK
    ]
    header = 0
    while header < len(lines) and (
        not lines[header].strip() or lines[header].lstrip().startswith("#")
    ):
        header += 1
    if header and not lines[header - 1].endswith("\n"):
        lines[header - 1] += "\n"
    return "".join([*lines[:header], BOOT_HOOK + "\n", *lines[header:]])
