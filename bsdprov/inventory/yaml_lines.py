"""YAML with line numbers: the inventory text composed into plain data, every key and item
remembered with its line, after bounds on size, nesting and alias expansion."""

from __future__ import annotations

from typing import Any

import yaml

from bsdprov.errors import InventoryError, Problem
from bsdprov.inventory.messages import Path_, dotted

# Bounds on what an inventory may grow to once parsed. A real one is a few hundred lines; the
# bounds stop a "billion laughs" (nested aliases: 391 bytes grew to gigabytes), a recursive
# alias and deep nesting (both a RecursionError) before anything is built from the YAML.
MAX_BYTES = 4 << 20
MAX_DEPTH = 32
MAX_VALUES = 200_000


def too_big(size: int, *, over: bool = False) -> str:
    """``over``: the size is unknown (a stream), only that it passed ``size``."""
    how = f"over {size}" if over else f"{size}"
    return f"is {how} bytes; an inventory may have at most {MAX_BYTES} (4 MiB)"


def _check_shape(text: str, source: str, loader: Any) -> None:
    """Refuse YAML whose size, nesting or alias expansion is out of bounds, from the parser's
    events (which need no recursion), with the line where it goes out of bounds."""
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_BYTES:
        raise InventoryError([Problem(source, None, "", too_big(size))])
    # Per open collection: its anchor, its values so far (aliases expanded) and its height.
    open_: list[list[Any]] = []
    expanded: dict[str, tuple[int, int]] = {}  # anchor -> (values, height)
    total = 0

    def refuse(event: yaml.Event, message: str) -> None:
        mark = event.start_mark
        raise InventoryError([Problem(source, mark.line + 1 if mark else None, "", message)])

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            if len(open_) >= MAX_DEPTH:
                refuse(event, f"nested deeper than {MAX_DEPTH} levels")
            open_.append([event.anchor, 1, 1])
            total += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, values, height = open_.pop()
            if anchor is not None:
                expanded[anchor] = (values, height)
            if open_:
                open_[-1][1] += values
                open_[-1][2] = max(open_[-1][2], height + 1)
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            values, height = 1, 0
            if isinstance(event, yaml.AliasEvent):
                if any(frame[0] == event.anchor for frame in open_):
                    refuse(event, f"alias *{event.anchor} refers to a value that contains it")
                values, height = expanded.get(event.anchor or "", (1, 0))
                if len(open_) + height > MAX_DEPTH:
                    refuse(event, f"alias *{event.anchor} nests deeper than {MAX_DEPTH} levels")
            elif event.anchor is not None:
                expanded[event.anchor] = (1, 0)
            total += values
            if open_:
                open_[-1][1] += values
                open_[-1][2] = max(open_[-1][2], height + 1)
        if total > MAX_VALUES:
            refuse(event, f"aliases expand the inventory to more than {MAX_VALUES} values")


# libyaml's parser, when PyYAML was built with it: the pure-Python one took a cold 20-host
# plan about 40 ms to read its inventory, twice over (the shape check's events, then the nodes).
_LIBYAML = getattr(yaml, "CSafeLoader", None)


def _compose(text: str, source: str) -> yaml.Node | None:
    """The YAML node tree of ``text``, after the bounds of ``_check_shape``.

    libyaml reads it when present. Both parsers give the same events, nodes and lines for YAML
    that parses; for YAML that does not, libyaml words its errors differently, so the
    pure-Python parser reads it again and says what is wrong in the words it always has.
    """
    if _LIBYAML is not None:
        try:
            _check_shape(text, source, _LIBYAML)
            return yaml.compose(text, Loader=_LIBYAML)
        except (yaml.YAMLError, UnicodeError):
            pass
    _check_shape(text, source, yaml.SafeLoader)
    return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, source: str) -> tuple[object, dict[Path_, int]]:
    """Compose ``text`` into plain Python data, remembering the line of every key and item."""
    try:
        node = _compose(text, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise InventoryError([Problem(source, line, "", f"invalid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise InventoryError([Problem(source, None, "", f"invalid YAML: {exc}")]) from None
    lines: dict[Path_, int] = {}
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")

    def build(node: yaml.Node, path: Path_) -> object:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[object, object] = {}
            for key_node, value_node in node.value:
                key = build(key_node, path + ("<key>",))
                if not isinstance(key, str | int) or isinstance(key, bool):
                    problems.append(
                        Problem(
                            source,
                            key_node.start_mark.line + 1,
                            dotted(path),
                            f"key {key!r} is not a name",
                        )
                    )
                    continue
                key = str(key)
                if key in result:
                    problems.append(
                        Problem(
                            source,
                            key_node.start_mark.line + 1,
                            dotted(path + (key,)),
                            "key appears twice",
                        )
                    )
                    continue
                lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (i,)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node)

    try:
        data = build(node, ()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        # Construction errors (a bad timestamp, an unknown tag) come after composing.
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise InventoryError([Problem(source, line, "", f"invalid YAML: {exc.problem}")]) from None
    if problems:
        raise InventoryError(problems)
    return data, lines
