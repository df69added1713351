"""Load a YAML inventory into the model, reporting every problem with its file and line.

By concern: ``yaml_lines`` (the text to data with lines, within bounds), ``schema`` (defaults,
groups, inheritance, validation), ``messages`` (pydantic's errors in bsdprov's words),
``checks`` (the cross-field checks). This module puts them together.

Pure: ``parse_inventory`` takes the text and a name for messages; only ``load_inventory`` reads
a file. Every problem found is reported in one ``InventoryError``, sorted by line.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bsdprov.errors import InventoryError, Problem
from bsdprov.inventory.checks import check_host, jump_host_problems, previous_address_problems
from bsdprov.inventory.messages import (
    SUGGESTION_BUDGET,
    Report,
    did_you_mean,
    reset_suggestion_budget,
)
from bsdprov.inventory.schema import Group, TopLevel, Vars, origin, validate, validate_host
from bsdprov.inventory.tool_settings import TOOL_SETTINGS, tool_setting_problem
from bsdprov.inventory.yaml_lines import MAX_BYTES, parse_yaml, too_big
from bsdprov.model import HOST_NAME_RE, Host
from bsdprov.vmd import Guest, guest_problems, guests_of

__all__ = [
    "MAX_BYTES",
    "SUGGESTION_BUDGET",
    "Inventory",
    "check_host",
    "load_inventory",
    "parse_inventory",
]


@dataclass(frozen=True, slots=True)
class Inventory:
    """A validated inventory: hosts by name (in file order), group memberships, and the
    command's settings its ``defaults:`` give (``tool_settings.TOOL_SETTINGS``)."""

    source: str
    hosts: Mapping[str, Host]
    groups: Mapping[str, tuple[str, ...]]
    settings: Mapping[str, int] = field(default_factory=dict)

    def guests(self, name: str) -> tuple[Guest, ...]:
        """The VMs of hypervisor ``name``, resolved (empty for any other host)."""
        return guests_of(self.hosts, name) if self.hosts[name].is_hypervisor else ()

    def select(self, name: str) -> Host:
        """Return the host called ``name`` or raise an ``InventoryError`` with suggestions."""
        if name in self.hosts:
            return self.hosts[name]
        raise InventoryError(
            [Problem(self.source, None, "", f"no host {name!r}{did_you_mean(name, self.hosts)}")]
        )


def load_inventory(path: str | Path) -> Inventory:
    """Read and validate the inventory at ``path``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InventoryError([Problem(str(path), None, "", too_big(size))])
        # A device or a pipe says size 0 and may never end (/dev/zero, a stream through
        # <(...)): read no more than the bound allows.
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise InventoryError([Problem(str(path), None, "", too_big(MAX_BYTES, over=True))])
        text = data.decode("utf-8")
    except OSError as exc:
        raise InventoryError(
            [Problem(str(path), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    except UnicodeDecodeError:
        raise InventoryError([Problem(str(path), None, "", "is not UTF-8 text")]) from None
    return parse_inventory(text, str(path))


def _without_tool_settings(raw: object, group: str, report: Report) -> object:
    """A group's ``vars`` without the command's settings, each reported: they are the
    command's, for the whole run, so only the top-level ``defaults:`` takes them."""
    if not isinstance(raw, dict) or not isinstance(raw.get("vars"), dict):
        return raw
    found = [key for key in raw["vars"] if key in TOOL_SETTINGS]
    for key in found:
        report.add(
            ("groups", group, "vars", key),
            f"{key!r} is a setting of the command, not of a host: only the top-level "
            "'defaults:' takes it",
        )
    if not found:
        return raw
    return {**raw, "vars": {k: v for k, v in raw["vars"].items() if k not in TOOL_SETTINGS}}


def parse_inventory(text: str, source: str) -> Inventory:
    """Validate inventory ``text``; ``source`` names it in messages."""
    return contextvars.copy_context().run(_parse_inventory, text, source)


def _parse_inventory(text: str, source: str) -> Inventory:
    reset_suggestion_budget()  # each parse has its own budget
    data, lines = parse_yaml(text, source)
    report = Report(source, lines)
    if isinstance(data, dict):
        for key in data.keys() - TopLevel.model_fields.keys():
            report.add((key,), f"unknown key {key!r}{did_you_mean(key, TopLevel.model_fields)}")
        data = {key: value for key, value in data.items() if key in TopLevel.model_fields}
    top = validate(TopLevel, data if data is not None else {}, (), report)
    if top is None:
        raise InventoryError(report.sorted())

    # The command's settings under defaults: are checked here and kept apart; the hosts
    # inherit only their own keys.
    settings = {k: v for k, v in top.defaults.items() if k in TOOL_SETTINGS}
    for key, value in settings.items():
        problem = tool_setting_problem(key, value)
        if problem:
            report.add(("defaults", key), problem)
    host_defaults = {}
    for key, value in top.defaults.items():
        if key in TOOL_SETTINGS:
            continue
        if key not in Vars.model_fields:
            known = [*Vars.model_fields, *TOOL_SETTINGS]
            report.add(("defaults", key), f"unknown key {key!r}{did_you_mean(str(key), known)}")
            continue
        host_defaults[key] = value
    defaults = validate(Vars, host_defaults, ("defaults",), report)
    groups: dict[str, Group] = {}
    for name, raw in top.groups.items():
        raw = _without_tool_settings(raw, name, report)
        group = validate(Group, raw if raw is not None else {}, ("groups", name), report)
        if group is not None:
            groups[name] = group
            for i, member in enumerate(group.hosts):
                if member not in top.hosts:
                    report.add(
                        ("groups", name, "hosts", i),
                        f"no host {member!r}{did_you_mean(member, top.hosts)}",
                    )

    hosts: dict[str, Host] = {}
    for name, raw in top.hosts.items():
        if not HOST_NAME_RE.fullmatch(name):
            report.add(
                ("hosts", name),
                f"{name!r} is not a host name (letters, digits, "
                "'.', '_' and '-', starting with a letter or digit)",
            )
            continue
        host = validate_host(name, raw, defaults, groups, report)
        if host is not None:
            hosts[name] = host
            own = raw if isinstance(raw, dict) else {}
            for path, message in check_host(host):
                report.add(origin(name, own, path, defaults, groups), message)
    for name, at in jump_host_problems(hosts, set(top.hosts)):
        raw = top.hosts[name]
        own = raw if isinstance(raw, dict) else {}
        report.add(origin(name, own, ("via",), defaults, groups), at)
    for name, at in previous_address_problems(hosts):
        raw = top.hosts[name]
        own = raw if isinstance(raw, dict) else {}
        report.add(origin(name, own, ("previous_address",), defaults, groups), at)
    for name, path, message in guest_problems(hosts):
        report.add(("hosts", name) + path, message)

    if report.problems:
        raise InventoryError(report.sorted())
    return Inventory(source, hosts, {name: g.hosts for name, g in groups.items()}, settings)
