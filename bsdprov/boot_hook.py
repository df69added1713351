"""The boot hook: the line of ``/etc/rc.local`` that lets a restarted host roll back a run it
was left with unconfirmed (``txn.sh boot``; /etc/rc on OpenBSD and rc.d/local on FreeBSD and
NetBSD run rc.local late in the boot).

It is part of the plan like any managed line (shown, backed up, restored by a rollback), added
to every plan that changes something and placed first, so that it is on the host before the
first file of the run is installed. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bsdprov.plan import FileChange, ObservedFile, Plan
from bsdprov.render.base import LineEdit
from bsdprov.render.lines import apply_line_edit

RC_LOCAL = "/etc/rc.local"
# The text every bsdprov release has written: a host that has it already needs no change.
BOOT_HOOK = "[ -f /var/db/bsdprov/txn.sh ] && sh /var/db/bsdprov/txn.sh boot # bsdprov"


def with_boot_hook(plan: Plan, observed: Mapping[str, ObservedFile]) -> Plan:
    """``plan`` with the hook's line edit of /etc/rc.local first, when it changes anything and
    the hook is missing. An existing rc.local keeps its mode and owner."""
    if not plan.has_changes or any(change.path == RC_LOCAL for change in plan.changes):
        return plan
    before = observed.get(RC_LOCAL, ObservedFile(RC_LOCAL, None))
    after = apply_line_edit(LineEdit(RC_LOCAL, (BOOT_HOOK,)), before.content)
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
