"""Text and JSON views of rendered hosts (pure: values in, strings out)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping

from bsdprov.failure import explain, failure_lines
from bsdprov.inventory import Inventory
from bsdprov.model import Host
from bsdprov.outcome import HostChecks, HostRuns, Outcome, RunRecord
from bsdprov.plan import file_diff, mask_secrets, select_steps
from bsdprov.render import FileEdit, LineEdit, Rendered, Step, VarsEdit, file_content
from bsdprov.verify import CheckResult

FORMAT_VERSION = 1
# Every C0 control but tab and line feed, DEL and the C1 controls (0x9b is a one-byte CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The live differences plan shows per host; the JSON has them all.
DRIFT_LINES = 20


def terminal_safe(text: str) -> str:
    """Text that came from a host (its files, its commands' output, its journal) as a terminal
    can show it without obeying it: each control character written as ``\\xNN``. A raw ESC,
    CR or BEL from a hostile host could clear the screen, move the cursor over the diff the
    operator reviews before answering 'yes', or rewrite a line. Tab and line feed stay."""
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _mode(spec: FileEdit) -> str:
    return f"{spec.mode:04o}"


def _managed(spec: FileEdit) -> str:
    if isinstance(spec, VarsEdit):
        return "keys"
    return "lines" if isinstance(spec, LineEdit) else "whole"


def _command(step: Step) -> str:
    return shlex.join(step.argv)


def _step_object(step: Step) -> dict[str, object]:
    """A step for a tool reading the JSON: its argv, whether it may fail without stopping the
    run, why it runs and what triggers it (paths, or ``PATH#KEY-GLOB``; empty: any change)."""
    return {
        "argv": list(step.argv),
        "may_fail": step.may_fail,
        "why": step.why,
        "trigger": list(step.triggers),
    }


def render_text(rendered: Rendered) -> str:
    """A host's files with path, mode and owner, then its checks and commands."""
    release = f" {rendered.release}" if rendered.release else ""
    out = [f"# {rendered.host} ({rendered.os}{release})", ""]
    for spec in rendered.files:
        scope = (
            ", managed keys only: every other line of the host's file is kept"
            if isinstance(spec, VarsEdit)
            else ", managed lines only: every other line of the host's file is kept"
            if isinstance(spec, LineEdit)
            else ""
        )
        out.append(f"--- {spec.path} ({_mode(spec)} {spec.owner}:{spec.group}{scope})")
        out.append(file_content(spec).rstrip("\n"))
        out.append("")
    if rendered.checks:
        out.append("checks run on the new files before anything changes:")
        out += [f"  {_command(step)}" for step in rendered.checks]
        out.append("")
    out.append("activation commands, in order (a deploy runs those its changes need):")
    steps = select_steps(rendered.steps, None)
    width = max((len(_command(s)) for s in steps), default=0)
    for step in steps:
        note = f"{'(may fail) ' if step.may_fail else ''}{step.why}"
        out.append(f"  {_command(step).ljust(width)}  # {note}")
    if not steps:
        out.append("  (none)")
    if rendered.verify:
        out += ["", "checks of the running system afterwards:"]
        out += [f"  {shlex.join(c.argv)}  ~ /{c.expect}/" for c in rendered.verify]
    return "\n".join(out) + "\n"


def render_json(hosts: Iterable[Rendered]) -> str:
    """The documented, versioned JSON object of ``bsdprov render --json``."""
    document = {
        "format_version": FORMAT_VERSION,
        "hosts": [
            {
                "name": r.host,
                "os": r.os,
                "release": r.release,
                "files": [
                    {
                        "path": spec.path,
                        "mode": _mode(spec),
                        "owner": spec.owner,
                        "group": spec.group,
                        "managed": _managed(spec),
                        "content": file_content(spec),
                    }
                    for spec in r.files
                ],
                "checks": [list(step.argv) for step in r.checks],
                "commands": [list(step.argv) for step in select_steps(r.steps, None)],
                "steps": [_step_object(step) for step in select_steps(r.steps, None)],
            }
            for r in hosts
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def check_summary(inventory: Inventory) -> str:
    """One line per host, then a total: what ``bsdprov check`` prints."""
    rows = [_summary_row(host) for host in inventory.hosts.values()]
    width = max((len(name) for name in inventory.hosts), default=0)
    lines = [f"{name.ljust(width)}  {text}" for name, text in rows]
    count = len(rows)
    if not count:
        # Valid (an inventory being started, or one 'import --write' fills), but a file that
        # is empty by mistake must not read as a fleet that passed.
        lines.append(
            f"{inventory.source}: no hosts: valid, but there is nothing to check and no "
            "command has a host to act on; add them under 'hosts:'"
        )
        return "\n".join(lines) + "\n"
    lines.append(f"{inventory.source}: {count} host{'s' if count != 1 else ''}, no problems")
    return "\n".join(lines) + "\n"


def _summary_row(host: Host) -> tuple[str, str]:
    target = host.address or host.name
    port = f":{host.port}" if host.port != 22 else ""
    via = f" via {host.via}" if host.via else ""
    routes = "routes unmanaged" if host.routes is None else _count(len(host.routes), "route")
    parts = [
        host.os or "os detected on connect",
        f"{host.user}@{target}{port}{via}",
        _count(len(host.interfaces), "interface"),
        routes,
    ]
    return host.name, ", ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


# --- plan, deploy and history reports ----------------------------------------------------------


def plan_text(outcomes: Iterable[Outcome]) -> str:
    """Per host: diffs, mode changes, checks and commands; then a summary line for the run."""
    outcomes = list(outcomes)
    return "".join(plan_host_text(o) for o in outcomes) + summary_line("plan", outcomes) + "\n"


def plan_host_text(outcome: Outcome) -> str:
    """One host's part of ``plan_text``: printed as soon as the host's plan is known."""
    out: list[str] = []
    plan = outcome.plan
    if plan is None:
        return f"== {outcome.host}: {outcome.status}: {outcome.reason}\n"
    count, drifted = len(plan.changes), len(plan.drift)
    heads = [f"{count} file{'s' if count != 1 else ''} to change"] if count else []
    heads += [f"{_count(drifted, 'live difference')} to repair"] if drifted else []
    out.append(f"== {outcome.host} ({plan.os}): {', '.join(heads) or 'no changes'}")
    out += [f"warning: {w}" for w in outcome.warnings]
    out += [f"note: {n}" for n in plan.notes]
    if plan.drift:
        # The files may be right while the running system is not: said apart from diffs.
        out.append("running system differs from the files:")
        shown = plan.drift[:DRIFT_LINES]
        out += [f"  {d.what}" for d in shown]
        if len(plan.drift) > len(shown):
            # A host whose every address went wrong would bury the plan: the rest is a count.
            more = len(plan.drift) - len(shown)
            out.append(f"  ... and {more} more (plan --json lists every one)")
    if plan.has_changes:
        if plan.changes or not plan.drift:
            out.append(plan.diff().rstrip("\n"))
        if plan.makes:
            out.append("made before the files, if missing (this run's rollback undoes them):")
            out += [f"  {shlex.join(m.argv)}" for m in plan.makes]
        if plan.prepare:
            out.append("made first, if missing (a rollback keeps them):")
            out += [f"  {_command(s)}" for s in plan.prepare]
        if plan.checks:
            out.append("checks, on the new files before anything is activated:")
            out += [f"  {_command(s)}" for s in plan.checks]
        if plan.removals:
            # Each removal on its own line with its commands (they run first, below).
            out.append("removed, no longer in the inventory (bsdprov's ownership record):")
            for removal in plan.removals:
                out.append(f"  - {removal.what}")
                out += [f"      {_command(s)}" for s in removal.steps]
        out.append("commands, in order:" if plan.steps else "commands: none")
        out += [f"  {_command(s)}{'  # may fail' if s.may_fail else ''}" for s in plan.steps]
        # What a rollback of this run runs (rollback.py), so it is never a surprise.
        if plan.undo_checks:
            out.append("if rolled back, checks of the restored files:")
            out += [f"  {_command(s)}" for s in plan.undo_checks]
        if plan.undo_steps:
            out.append("if rolled back, commands, in order:")
            out += [
                f"  {_command(s)}{'  # may fail' if s.may_fail else ''}" for s in plan.undo_steps
            ]
    out.append("")
    return "\n".join(out) + "\n"


def summary_line(verb: str, outcomes: list[Outcome]) -> str:
    words = {
        "changes": "with changes",
        "unchanged": "unchanged",
        "changed": "changed",
        "failed": "failed",
        "rolled-back": "rolled back",
        "unreachable": "unreachable",
        "skipped": "skipped",
    }
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    parts = [f"{n} {words[status]}" for status, n in counts.items()]
    hosts = len(outcomes)
    return f"{verb}: {hosts} host{'s' if hosts != 1 else ''}: {', '.join(parts) or 'none'}"


def deploy_text(
    outcomes: Iterable[Outcome],
    verb: str = "deploy",
    *,
    verbose: bool = False,
    logins: Mapping[str, str] | None = None,
) -> str:
    """One line per host with its outcome; under a failed or rolled-back host, the failing
    command, its exit status and output and the cause (``bsdprov.failure``), and with
    ``verbose`` the journal's last lines; then the run's summary. ``logins`` maps a host to
    the ``user@address:port`` its confirming login went to."""
    outcomes = list(outcomes)
    width = max((len(o.host) for o in outcomes), default=0)
    pad = "".ljust(width)
    out = []
    for o in outcomes:
        run = f" (run {o.run_id})" if o.run_id else ""
        failed = o.status in ("failed", "rolled-back")
        block = failure_lines(o, (logins or {}).get(o.host, "")) if failed else []
        # The host's own one-line account; a failing step's line may carry a key.
        reason = f": {mask_secrets(o.reason)}" if o.reason else ""
        out.append(f"{o.host.ljust(width)}  {o.status}{run}{reason}")
        out += [f"{pad}  warning: {w}" for w in o.warnings]
        out += [f"{pad}  {line}" for line in block]
        if failed and verbose and o.journal.strip():
            # The host's own account of what ran: the journal's last lines, secrets masked.
            tail = mask_secrets(o.journal).rstrip("\n").splitlines()[-15:]
            out.append(f"{pad}  journal, last lines:")
            out += [f"{pad}  | {line}" for line in tail]
    out.append(summary_line(verb, outcomes))
    return "\n".join(out) + "\n"


def plan_json(outcomes: Iterable[Outcome]) -> str:
    """The versioned plan object of ``bsdprov plan --json``."""
    hosts = []
    for o in outcomes:
        entry: dict[str, object] = {
            "name": o.host,
            "status": o.status,
            "reason": o.reason,
            "warnings": list(o.warnings),
        }
        if o.plan is not None:
            entry["os"] = o.plan.os
            entry["files"] = [
                {
                    "path": c.path,
                    "action": c.action,
                    "mode": f"{c.mode:04o}",
                    "owner": c.owner,
                    "group": c.group,
                    "diff": file_diff(o.host, c),
                }
                for c in o.plan.changes
            ]
            entry["prepare"] = [list(s.argv) for s in o.plan.prepare]
            entry["make"] = [{"command": list(m.argv), "undo": list(m.undo)} for m in o.plan.makes]
            entry["notes"] = list(o.plan.notes)
            entry["drift"] = [
                {"what": d.what, "repaired_by": list(d.triggers)} for d in o.plan.drift
            ]
            entry["checks"] = [list(s.argv) for s in o.plan.checks]
            entry["commands"] = [list(s.argv) for s in o.plan.steps]
            entry["steps"] = [_step_object(s) for s in o.plan.steps]
            entry["removals"] = [
                {"what": r.what, "commands": [list(s.argv) for s in r.steps]}
                for r in o.plan.removals
            ]
            entry["verify"] = [{"command": list(c.argv), "expect": c.expect} for c in o.plan.verify]
            entry["rollback"] = {
                "checks": [list(s.argv) for s in o.plan.undo_checks],
                "commands": [list(s.argv) for s in o.plan.undo_steps],
                "steps": [_step_object(s) for s in o.plan.undo_steps],
            }
        hosts.append(entry)
    return json.dumps({"format_version": FORMAT_VERSION, "hosts": hosts}, indent=2) + "\n"


def history_text(host: str, records: Iterable[RunRecord]) -> str:
    rows = [("RUN", "STATE", "STARTED", "BY", "KIND", "FILES")]
    rows += [
        (r.run_id, r.state, r.started, r.user, r.kind, ",".join(r.targets) or "-") for r in records
    ]
    if len(rows) == 1:
        return f"{host}: no runs recorded\n"
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [f"== {host}"]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row[:5], widths, strict=True)) + "  " + row[5]
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def verify_text(host: str, results: Iterable[CheckResult]) -> str:
    """PASS/FAIL per check: the command, what it must show, and the line that showed it."""
    out = [f"== {host}"]
    for r in results:
        verdict = "PASS" if r.passed else "FAIL"
        out.append(f"{verdict}  {r.check.why}: {shlex.join(r.check.argv)} ~ /{r.check.expect}/")
        out.append(f"      {'shows' if r.passed else 'got'}: {mask_secrets(r.evidence)}")
    return "\n".join(out) + "\n"


def verify_json(reports: Iterable[HostChecks]) -> str:
    """The versioned object of ``bsdprov verify --json``: per host, each check and its result."""
    hosts = []
    for report in reports:
        results = report.results
        entry: dict[str, object] = {"name": report.host, "error": str(report.error or "") or None}
        entry["checks"] = [
            {
                "command": list(r.check.argv),
                "expect": r.check.expect,
                "why": r.check.why,
                "passed": r.passed,
                "evidence": mask_secrets(r.evidence),
            }
            for r in results or ()
        ]
        entry["passed"] = report.passed
        hosts.append(entry)
    return json.dumps({"format_version": FORMAT_VERSION, "hosts": hosts}, indent=2) + "\n"


def deploy_json(outcomes: Iterable[Outcome], exit_code: int, logins: Mapping[str, str]) -> str:
    """The versioned object of a real ``deploy --json`` (or ``rollback --json``): per host its
    status, run, reason and, when it failed, the failure in parts (``bsdprov.failure``)."""
    hosts = []
    for o in outcomes:
        entry: dict[str, object] = {
            "name": o.host,
            "status": o.status,
            "run_id": o.run_id,
            "reason": mask_secrets(o.reason),
            "warnings": list(o.warnings),
            "failure": None,
        }
        if o.status in ("failed", "rolled-back"):
            failure = explain(o, logins.get(o.host, ""))
            entry["failure"] = {
                "what": failure.what,
                "command": mask_secrets(failure.command),
                "exit_status": failure.exit_status,
                "output": [mask_secrets(line) for line in failure.output],
                "cause": mask_secrets(failure.cause),
            }
        hosts.append(entry)
    document = {"format_version": FORMAT_VERSION, "exit_code": exit_code, "hosts": hosts}
    return json.dumps(document, indent=2) + "\n"


def history_json(reports: Iterable[HostRuns]) -> str:
    """The versioned object of ``bsdprov history --json``: per host its runs, oldest first, or
    the error that kept it from answering."""
    hosts = [
        {
            "name": r.host,
            "error": str(r.error) if r.error is not None else None,
            "runs": [
                {
                    "run_id": run.run_id,
                    "state": run.state,
                    "started": run.started,
                    "user": run.user,
                    "kind": run.kind,
                    "files": list(run.targets),
                    "reason": mask_secrets(run.reason),
                }
                for run in r.runs or ()
            ],
        }
        for r in reports
    ]
    return json.dumps({"format_version": FORMAT_VERSION, "hosts": hosts}, indent=2) + "\n"


def check_json(inventory: Inventory) -> str:
    """The versioned object of ``bsdprov check --json``: the inventory's hosts as it read them."""
    hosts = [
        {
            "name": host.name,
            "os": host.os,
            "user": host.user,
            "address": host.address or host.name,
            "port": host.port,
            "via": host.via,
            "interfaces": sorted(host.interfaces),
            "routes": None if host.routes is None else len(host.routes),
        }
        for host in inventory.hosts.values()
    ]
    document = {"format_version": FORMAT_VERSION, "source": str(inventory.source), "hosts": hosts}
    return json.dumps(document, indent=2) + "\n"
