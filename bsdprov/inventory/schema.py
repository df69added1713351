"""The inventory's own schema around the host model (``defaults``, ``groups``, the top level),
inheritance from defaults and groups, and validation that reports where each problem is
written (the host, a group or the defaults)."""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from bsdprov.inventory.messages import Path_, Report, explain
from bsdprov.model import (
    INHERITABLE_KEYS,
    Host,
    Strict,
)


class Vars(Strict):
    """Keys allowed under ``defaults`` and a group's ``vars``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    user: str | None = None
    port: StrictInt | None = None
    become: str | None = None
    os: str | None = None
    release: str | None = None
    via: str | None = None
    ssh_config: str | None = None


class Group(Strict):
    hosts: tuple[str, ...] = ()
    vars: Vars = Vars()


class TopLevel(Strict):
    defaults: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    hosts: dict[str, Any] = {}


M = typing.TypeVar("M", bound=BaseModel)


def validate(model: type[M], raw: object, at: Path_, report: Report) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            path, message = explain(model, error)
            report.add(at + path, message)
        return None


def validate_host(
    name: str, raw: object, defaults: Vars | None, groups: dict[str, Group], report: Report
) -> Host | None:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        report.add(("hosts", name), f"expected a mapping of keys, got {raw!r}")
        return None
    if "name" in raw:
        report.add(
            ("hosts", name, "name"), "the host's name is its key under 'hosts'; remove 'name'"
        )
        return None
    inherited = {key: value for key, (_, value) in inherited_keys(name, defaults, groups).items()}
    # An empty interface ("em0:") means "declared, nothing else", like an empty host.
    interfaces = raw.get("interfaces")
    if isinstance(interfaces, dict):
        raw = {**raw, "interfaces": {k: ({} if v is None else v) for k, v in interfaces.items()}}
    merged = {**inherited, **raw, "name": name}
    try:
        return Host.model_validate(merged)
    except ValidationError as exc:
        errors = exc.errors()
    for error in errors:
        path, message = explain(Host, error)
        report.add(origin(name, raw, path, defaults, groups), message)
    # A bad inherited value is reported once, where it is written; check the host's own keys
    # without it so their problems show in this same run.
    bad = {e["loc"][0] for e in errors if e["loc"] and e["loc"][0] in inherited.keys() - raw.keys()}
    if len(bad) == len({e["loc"][0] for e in errors if e["loc"]}):
        try:
            return Host.model_validate({k: v for k, v in merged.items() if k not in bad})
        except ValidationError:
            return None
    return None


def inherited_keys(
    host: str, defaults: Vars | None, groups: dict[str, Group]
) -> dict[str, tuple[Path_, object]]:
    """Inherited keys of one host, each with the path it came from (later groups win)."""
    found: dict[str, tuple[Path_, object]] = {}
    sources: list[tuple[Path_, Vars]] = [(("defaults",), defaults)] if defaults else []
    sources += [(("groups", g, "vars"), grp.vars) for g, grp in groups.items() if host in grp.hosts]
    for at, values in sources:
        for key in INHERITABLE_KEYS:
            if key in values.model_fields_set:
                found[key] = (at + (key,), getattr(values, key))
    return found


def origin(
    host: str, own: Iterable[str], path: Path_, defaults: Vars | None, groups: dict[str, Group]
) -> Path_:
    """Where a problem with a host's key really lives: the host, a group or the defaults."""
    if path and isinstance(path[0], str) and path[0] not in own:
        inherited = inherited_keys(host, defaults, groups).get(path[0])
        if inherited is not None:
            return inherited[0] + path[1:]
    return ("hosts", host) + path
