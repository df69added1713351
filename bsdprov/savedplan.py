"""Saved plans: ``plan --out FILE`` writes what each host's plan is; ``deploy --plan FILE``
applies exactly that, refusing a host whose plan is no longer the same (pure: values in and out).

A plan is what the host's files were (each one's content hash, mode and owner), what they become
and the commands that run. The file keeps these as hashes, never file contents (a plan of
``hostname.wg0`` holds a key). When the deploy plans each host again, right before it applies, the
two must be equal in every part: a file edited on the host since, an inventory edited since, a
different release's commands, each refuses that host, naming the file or what differs. Between
that comparison and the run's start the host itself refuses a file that changed (``changed since
plan``), so what is applied is what was saved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bsdprov.errors import ApplyError, UsageError
from bsdprov.outcome import Outcome
from bsdprov.plan import Plan

KIND = "bsdprov-saved-plan"
FORMAT_VERSION = 1


def _digest(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


def fingerprint(plan: Plan) -> dict[str, object]:
    """Everything a plan decides, content as hashes: equal fingerprints, equal runs."""
    return {
        "os": plan.os,
        "files": {
            change.path: {
                "before": {
                    "sha256": _digest(change.before.content),
                    "mode": change.before.mode,
                    "owner": change.before.owner,
                    "group": change.before.group,
                },
                "after": {
                    "sha256": _digest(change.after),
                    "mode": change.mode,
                    "owner": change.owner,
                    "group": change.group,
                },
            }
            for change in plan.changes
        },
        # Commands as hashes too: an argv can carry a key (ifconfig wg0 wgkey ...).
        "prepare": _digest_of([list(s.argv) for s in plan.prepare]),
        # Only when there is something to make: a plan saved before makes existed still matches.
        **(
            {"make": _digest_of([[*m.argv, "|", *m.undo] for m in plan.makes])}
            if plan.makes
            else {}
        ),
        "checks": _digest_of([list(s.argv) for s in plan.checks]),
        "steps": _digest_of([[*s.argv, s.may_fail] for s in plan.steps]),
        "verify": _digest_of([[*c.argv, c.expect] for c in plan.verify]),
        "undo_checks": _digest_of([list(s.argv) for s in plan.undo_checks]),
        "undo_steps": _digest_of([list(s.argv) for s in plan.undo_steps]),
    }


def _digest_of(value: object) -> str | None:
    return _digest(json.dumps(value, sort_keys=True))


def saved_plan_text(outcomes: Iterable[Outcome], inventory: str, options: dict[str, bool]) -> str:
    """The file ``plan --out`` writes: the hosts that have changes, each with its plan's
    fingerprint, and the options the plan was made with."""
    hosts = {
        o.host: fingerprint(o.plan)
        for o in outcomes
        if o.status == "changes" and o.plan is not None
    }
    document = {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "inventory": inventory,
        "options": options,
        "hosts": hosts,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True, slots=True)
class SavedPlan:
    source: str
    inventory: str
    options: dict[str, bool]
    hosts: dict[str, dict[str, object]]


def read_saved_plan(source: str, text: str) -> SavedPlan:
    """A saved plan file, checked: anything else is refused naming the file."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source}: not a saved plan (not JSON: {exc})") from None
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise UsageError(f"{source}: not a saved plan ('bsdprov plan --out FILE' writes one)")
    if data.get("format_version") != FORMAT_VERSION:
        raise UsageError(
            f"{source}: format_version {data.get('format_version')!r}; this bsdprov reads "
            f"{FORMAT_VERSION}: make the plan again"
        )
    hosts, options = data.get("hosts"), data.get("options")
    inventory = data.get("inventory")
    if not isinstance(hosts, dict) or not isinstance(options, dict):
        raise UsageError(f"{source}: hosts and options must be objects")
    if not isinstance(inventory, str):
        raise UsageError(f"{source}: inventory must be a path")
    for name, value in options.items():
        # bool("false") is True: an option read loosely would turn on --restart-vms.
        if not isinstance(value, bool):
            raise UsageError(f"{source}: options: {name}: {value!r} is not true or false")
    for name, saved in hosts.items():
        if not isinstance(saved, dict) or not isinstance(saved.get("files"), dict):
            raise UsageError(f"{source}: hosts: {name}: not a saved host plan")
    return SavedPlan(source, inventory, options, hosts)


def difference(saved: dict[str, object], plan: Plan, kept: str = "saved") -> str | None:
    """What differs between a kept plan (``kept``: "saved" in a file, or "shown" before the
    question) and the plan made now, in words (None: the same)."""
    now = fingerprint(plan)
    if now == saved:
        return None
    if now["os"] != saved.get("os"):
        return f"the host now runs {plan.os}, not {saved.get('os')}"
    old_files = saved.get("files") if isinstance(saved.get("files"), dict) else {}
    assert isinstance(old_files, dict)
    new_files = now["files"]
    assert isinstance(new_files, dict)
    for path in sorted(old_files.keys() | new_files.keys()):
        old, new = old_files.get(path), new_files.get(path)
        if old is None:
            return f"{path} is in the plan now but was not in the {kept} one"
        if new is None:
            return f"{path} was in the {kept} plan and is not now (already as planned?)"
        if old.get("before") != new.get("before"):
            return f"{path} changed on the host since the plan was {kept}"
        if old.get("after") != new.get("after"):
            return f"the inventory now gives {path} other content or mode than the {kept} plan"
    for part in ("make", "prepare", "checks", "steps", "verify", "undo_checks", "undo_steps"):
        if now.get(part) != saved.get(part):
            return f"its {part.replace('_', ' ')} differ from the {kept} plan's"
    return f"its plan differs from the {kept} one"


def expectation(source: str, host: str, saved: dict[str, object]) -> Callable[[Plan], None]:
    """The check a deploy runs on ``host``'s plan right before it applies it."""

    def expect(plan: Plan) -> None:
        why = difference(saved, plan)
        if why is not None:
            raise ApplyError(
                f"host {host!r}: not the plan saved in {source}: {why}; nothing was changed "
                "(plan again, review it, and save it again)"
            )

    return expect


def shown_expectation(verb: str, host: str, shown: Plan) -> Callable[[Plan], None]:
    """The check a deploy or rollback runs on ``host``'s plan right before it applies it, after
    a 'yes' to the plan ``shown``: the answer was about that plan, so a host whose plan is no
    longer the same (a file edited, another run applied, meanwhile) is refused, not applied
    with a plan no one saw."""
    kept = fingerprint(shown)

    def expect(plan: Plan) -> None:
        why = difference(kept, plan, "shown")
        if why is not None:
            raise ApplyError(
                f"host {host!r}: not the plan shown above: {why}; nothing was changed "
                f"({verb} again to see, and answer, its plan now)"
            )

    return expect
