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
    head: list[str] = []
    section: list[str] = []
    lines = current.splitlines(keepends=True) if current else []
    for line in lines:
        text = line.strip()
        key = line_key(line, edit.separator)
        words = text.split()
        if not section and words and not text.startswith("#") and words[0] in edit.before:
            section.append("")  # from here on, lines belong to a section
        result = section if section else head
        if text and not text.startswith("#") and key in edit.remove and key not in wanted:
            continue
        if not text or text.startswith("#") or key not in wanted:
            result.append(line)
        elif section:
            continue  # ignored inside a section: the line is placed before it instead
        elif key not in placed:
            # The first line with the key is replaced in place; later ones would override it.
            result.append(wanted[key] + "\n")
            placed.add(key)
    missing = [line for key, line in wanted.items() if key not in placed]
    if missing and head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    head += [line + "\n" for line in missing]
    return "".join(head + section)
