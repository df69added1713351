"""The recap at the end of every fleet task, like Ansible's PLAY RECAP (pure: rows in, text out).

One line per host with its counts, a total, and what the exit code means: the last screen of a
long rollout says which hosts need a look without scrolling back through the reports.
"""

from __future__ import annotations

from collections.abc import Iterable

from bsdprov.errors import ExitCode

COLUMNS = ("ok", "changed", "failed", "rolled-back", "unreachable", "skipped")
# Which columns a host's status counts in: a host that changed (or has changes pending, for a
# plan) is ok and changed, as in Ansible.
COUNTS = {
    "ok": ("ok",),
    "unchanged": ("ok",),
    "changes": ("ok", "changed"),
    "changed": ("ok", "changed"),
    "failed": ("failed",),
    "rolled-back": ("rolled-back",),
    "unreachable": ("unreachable",),
    "skipped": ("skipped",),
}
# ANSI colours of a non-zero count, as Ansible colours its recap.
COLOURS = {
    "ok": "32",
    "changed": "33",
    "failed": "31",
    "rolled-back": "31",
    "unreachable": "35",
    "skipped": "36",
}
MEANING = {
    ExitCode.OK: "every host done (or nothing to do)",
    ExitCode.FAILED: "a host failed",
    ExitCode.USAGE: "bad arguments or inventory",
    ExitCode.UNREACHABLE: "a host was unreachable",
    ExitCode.ROLLED_BACK: "a host rolled back",
    ExitCode.CHANGES_PENDING: "changes are pending (--detailed-exitcode)",
}


def _paint(text: str, column: str, count: int, colour: bool) -> str:
    if not colour or not count:
        return text
    return f"\033[{COLOURS[column]}m{text}\033[0m"


def _row(name: str, width: int, counts: dict[str, int], colour: bool) -> str:
    cells = [_paint(f"{c}={counts[c]}", c, counts[c], colour) for c in COLUMNS]
    return f"{name.ljust(width)} : {'  '.join(cells)}"


def recap_text(
    verb: str, rows: Iterable[tuple[str, str]], code: ExitCode, *, colour: bool = False
) -> str:
    """``rows`` are (host, status); ``code`` the exit code the task exits with. For a plan,
    ``changed`` counts hosts with changes pending."""
    rows = list(rows)
    width = max((len(name) for name, _ in rows), default=0)
    width = max(width, len("total"))
    total = dict.fromkeys(COLUMNS, 0)
    lines = [f"{verb.upper()} RECAP"]
    for name, status in rows:
        counts = dict.fromkeys(COLUMNS, 0)
        for column in COUNTS.get(status, ("failed",)):
            counts[column] += 1
            total[column] += 1
        lines.append(_row(name, width, counts, colour))
    lines.append(_row("total", width, total, colour))
    lines.append(f"exit {int(code)}: {MEANING.get(code, 'see bsdprov --help')}")
    return "\n".join(lines) + "\n"
