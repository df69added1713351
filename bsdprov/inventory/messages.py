"""Inventory problems in bsdprov's words: pydantic's errors turned into messages, each at the
dotted path (and so the line) it is about, with "did you mean" hints on a bounded budget."""

from __future__ import annotations

import contextvars
import difflib
import typing
from collections.abc import Iterable
from types import UnionType
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from bsdprov.errors import Problem

Path_ = tuple[str | int, ...]


class Report:
    def __init__(self, source: str, lines: dict[Path_, int]) -> None:
        self.source = source
        self.lines = lines
        self.problems: dict[tuple[str, str], Problem] = {}

    def add(self, path: Path_, message: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                break
        problem = Problem(self.source, line, dotted(path), message)
        self.problems.setdefault((problem.path, message), problem)

    def sorted(self) -> list[Problem]:
        return sorted(self.problems.values(), key=lambda p: (p.line or 0, p.path))


def dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


# How many names one parse may compare for "did you mean" hints. difflib costs tens of
# microseconds a comparison, and a hostile inventory within the size bounds (thousands of
# group members naming none of thousands of hosts) asked for millions of them: minutes of CPU
# for one 'bsdprov check'. Past the budget, problems are still reported, without a hint.
SUGGESTION_BUDGET = 20_000
_suggestions_left: contextvars.ContextVar[int] = contextvars.ContextVar(
    "suggestions_left", default=SUGGESTION_BUDGET
)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    candidates = [c for c in choices if c != word]
    left = _suggestions_left.get()
    if len(candidates) > left:
        return ""
    _suggestions_left.set(left - len(candidates))
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def reset_suggestion_budget() -> None:
    """Give the parse about to start its own budget of "did you mean" comparisons."""
    _suggestions_left.set(SUGGESTION_BUDGET)


def explain(model: type[BaseModel], error: ErrorDetails) -> tuple[Path_, str]:
    """Turn one pydantic error into (path, message) in bsdprov's words."""
    loc = tuple(part for part in error["loc"] if part != "[key]")
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "bsdprov":
        return loc, str(ctx.get("message", error["msg"]))
    if kind == "extra_forbidden":
        known = _keys_at(model, loc[:-1])
        return loc, f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), known)}"
    if kind == "missing":
        return loc[:-1], f"required key {loc[-1]!r} is missing"
    if kind == "literal_error":
        options = _keys_of_literal(str(ctx.get("expected", "")))
        hint = did_you_mean(str(value), options) if isinstance(value, str) else ""
        return loc, f"{value!r} is not one of {', '.join(map(repr, options))}{hint}"
    messages = {
        "int_type": "is not a whole number",
        "int_parsing": "is not a whole number",
        "int_from_float": "is not a whole number",
        "bool_type": "is not true or false",
        "string_type": "is not a string",
        "dict_type": "is not a mapping of keys",
        "model_type": "is not a mapping of keys",
        "model_attributes_type": "is not a mapping of keys",
        "tuple_type": "is not a list",
        "list_type": "is not a list",
        "string_pattern_mismatch": "is not a release number such as '7.6' or '14.1-RELEASE'",
    }
    if kind == "string_type" and loc and loc[-1] == "release":
        return loc, f'{value!r} is a number to YAML (7.10 reads as 7.1); quote it: release: "7.10"'
    if kind in messages:
        return loc, f"{value!r} {messages[kind]}"
    if kind == "greater_than_equal":
        return loc, f"{value!r} is too small (the least is {ctx.get('ge')})"
    if kind == "less_than_equal":
        return loc, f"{value!r} is too large (the most is {ctx.get('le')})"
    text = error["msg"]
    return loc, f"{value!r}: {text[:1].lower()}{text[1:]}"


def _keys_of_literal(expected: str) -> list[str]:
    return [word.strip(" '") for word in expected.replace(" or ", ",").split(",") if word.strip()]


def _keys_at(model: type[BaseModel], loc: Path_) -> list[str]:
    """The keys the schema allows at ``loc`` (for "did you mean" suggestions)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (tuple, list):
            current = typing.get_args(current)[0]
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [key for key in current.model_fields if key != "name"]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0]
        else:
            return annotation
