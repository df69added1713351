"""Merge managed lines into a file the admin also edits (``LineEdit``): sysctl.conf(5), pf.conf(5).

Unlike rc.conf these files are not shell: a line is matched by its key (the text before a
separator such as ``=``, or the whole line) and nothing is evaluated.
"""

from __future__ import annotations

from bsdprov.render.base import LineEdit


def line_key(line: str, separator: str | None) -> str:
    """The key a line is matched by: the text before ``separator``, or the whole line."""
    text = line.strip()
    return text.partition(separator)[0].strip() if separator else text


def apply_line_edit(edit: LineEdit, current: str | None) -> str:
    """Return ``current`` (None: the file does not exist) with ``edit``'s lines merged in."""
    wanted = {line_key(line, edit.separator): line for line in edit.lines}
    placed: set[str] = set()
    result: list[str] = []
    lines = current.splitlines(keepends=True) if current else []
    for line in lines:
        text = line.strip()
        key = line_key(line, edit.separator)
        if text and not text.startswith("#") and key in edit.remove and key not in wanted:
            continue
        if not text or text.startswith("#") or key not in wanted:
            result.append(line)
        elif key not in placed:
            # The first line with the key is replaced in place; later ones would override it.
            result.append(wanted[key] + "\n")
            placed.add(key)
    missing = [line for key, line in wanted.items() if key not in placed]
    if missing and result and not result[-1].endswith("\n"):
        result[-1] += "\n"
    result += [line + "\n" for line in missing]
    return "".join(result)
