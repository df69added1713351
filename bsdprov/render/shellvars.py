"""Edit ``name="value"`` lines of an sh-sourced file (rc.conf) and leave every other line alone.

Only simple one-line assignments are edited. A managed key written in a form that cannot be
edited safely (a value spanning lines, command substitution) stops the render with its line
number instead of guessing: the admin fixes that line once by hand.
"""

from __future__ import annotations

import fnmatch
import re

from bsdprov.errors import RenderError
from bsdprov.render.base import VarsEdit, WordList

ASSIGNMENT_RE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)")
SIMPLE_VALUE_RE = re.compile(
    r"""(?:"(?P<dq>[^"\\$`]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'\\$`;&|<>()]*))\s*(?:\#.*)?"""
)


def apply_vars_edit(edit: VarsEdit, current: str | None) -> str:
    """Return ``current`` (None: the file does not exist) with ``edit`` applied."""
    lines = current.splitlines(keepends=True) if current else []
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    assigned = dict(edit.assign)

    def managed(name: str) -> bool:
        return name in assigned or any(
            fnmatch.fnmatchcase(name, pattern) for pattern in edit.remove
        )

    old_values: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(lines):
        match = ASSIGNMENT_RE.fullmatch(line.rstrip("\n"))
        if not match or not managed(match.group(1)):
            continue
        name = match.group(1)
        parsed = SIMPLE_VALUE_RE.fullmatch(match.group(2))
        if parsed is None:
            raise RenderError(
                f"{edit.path}:{number + 1}: cannot safely edit {name!r} written as "
                f'{line.strip()!r}; rewrite it as {name}="..." on one line'
            )
        old_values[name] = next(v for v in parsed.group("dq", "sq", "bare") if v is not None)
        first_line.setdefault(name, number)

    wanted: dict[str, str] = {}
    for name, value in edit.assign:
        if isinstance(value, WordList):
            kept = [w for w in old_values.get(name, "").split() if not value.owns(w)]
            text = " ".join(list(value.words) + [w for w in kept if w not in value.words])
            if text:  # a shared list left empty is removed
                wanted[name] = text
        else:
            # An empty string is a value: rc(8) starts a daemon whose flags are "" (not NO).
            wanted[name] = value

    result: list[str] = []
    for number, line in enumerate(lines):
        match = ASSIGNMENT_RE.fullmatch(line.rstrip("\n"))
        if not match or not managed(match.group(1)):
            result.append(line)
            continue
        name = match.group(1)
        # The first assignment is replaced in place; later ones would override it, so they go.
        if first_line[name] == number and name in wanted:
            result.append(f'{name}="{wanted.pop(name)}"\n')
    result += [f'{name}="{value}"\n' for name, value in wanted.items()]
    return "".join(result)
