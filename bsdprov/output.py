"""Text and JSON views of rendered hosts (pure: values in, strings out)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable

from bsdprov.inventory import Inventory
from bsdprov.model import Host
from bsdprov.plan import select_steps
from bsdprov.render import FileSpec, Rendered, Step, VarsEdit, file_content

FORMAT_VERSION = 1


def _mode(spec: FileSpec | VarsEdit) -> str:
    return f"{spec.mode:04o}"


def _command(step: Step) -> str:
    return shlex.join(step.argv)


def render_text(rendered: Rendered) -> str:
    """A host's files with path, mode and owner, then its checks and commands."""
    release = f" {rendered.release}" if rendered.release else ""
    out = [f"# {rendered.host} ({rendered.os}{release})", ""]
    for spec in rendered.files:
        scope = (
            ", managed keys only: every other line of the host's file is kept"
            if isinstance(spec, VarsEdit)
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
                        "managed": "keys" if isinstance(spec, VarsEdit) else "whole",
                        "content": file_content(spec),
                    }
                    for spec in r.files
                ],
                "checks": [list(step.argv) for step in r.checks],
                "commands": [list(step.argv) for step in select_steps(r.steps, None)],
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
