"""The command's own defaults: a flag, else the environment, else ``bsdprov.yaml``, else the
inventory's ``defaults:``, else built in.

``bsdprov.yaml`` (in the current directory, or the file ``$BSDPROV_CONFIG`` names) holds the
settings a team wants the same on every run, so that no one has to remember ``-i`` or a longer
confirm timeout for a slow link:

    inventory: inventories/prod.yaml
    parallel: 20
    confirm_timeout: 300

The inventory's ``defaults:`` may hold ``parallel`` and ``confirm_timeout`` too: what suits
that fleet (a satellite site's long timer) travels with its hosts. It comes below the file:
the file (or the environment) is the operator's choice for this run, the inventory the fleet's
standing default; and the inventory is read only after the file named it.

A key it does not know, or a value of the wrong kind, stops the command with the file, key and
value named (exit 2): a misspelt ``confirm_timout`` silently ignored would be the default
timeout on a link that needs the long one.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from bsdprov.errors import InventoryError, UsageError
from bsdprov.inventory.tool_settings import tool_setting_problem
from bsdprov.inventory.yaml_lines import parse_yaml

FILE = "bsdprov.yaml"
BUILT_IN: dict[str, int | str] = {
    "inventory": "inventories/example.yaml",
    "parallel": 10,
    "confirm_timeout": 120,
}
_WHOLE = re.compile(r"[+-]?[0-9]+")
ENVIRONMENT = {
    "inventory": "BSDPROV_INVENTORY",
    "parallel": "BSDPROV_PARALLEL",
    "confirm_timeout": "BSDPROV_CONFIRM_TIMEOUT",
}


def settings_file(environ: Mapping[str, str]) -> Path | None:
    """``$BSDPROV_CONFIG`` (which must exist), else ``./bsdprov.yaml`` if there is one."""
    named = environ.get("BSDPROV_CONFIG")
    if named:
        if not Path(named).is_file():
            raise UsageError(f"$BSDPROV_CONFIG: {named!r} is not a file")
        return Path(named)
    local = Path(FILE)
    return local if local.is_file() else None


def _value(name: str, raw: object, where: str) -> int | str:
    if name == "inventory":
        if not isinstance(raw, str) or not raw:
            raise UsageError(f"{where}: {name}: {raw!r} is not a file path")
        return raw
    if isinstance(raw, str) and _WHOLE.fullmatch(raw.strip()):
        raw = int(raw)  # '-1' too: it is a whole number, only below the least
    problem = tool_setting_problem(name, raw)
    if problem:
        raise UsageError(f"{where}: {name}: {problem}")
    assert isinstance(raw, int)  # tool_setting_problem refused anything else
    return raw


def read_file(path: Path) -> dict[str, int | str]:
    """The settings a ``bsdprov.yaml`` sets; each key checked."""
    try:
        # The inventory's reader: a key written twice is refused, not the last one taken.
        data, _ = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it: {exc}") from None
    except InventoryError as exc:
        raise UsageError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected keys ({', '.join(BUILT_IN)}), got {data!r}")
    found = {}
    for key, raw in data.items():
        if key not in BUILT_IN:
            near = difflib.get_close_matches(str(key), list(BUILT_IN), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise UsageError(
                f"{path}: unknown key {key!r}; {hint}the keys are {', '.join(BUILT_IN)}"
            )
        found[key] = _value(key, raw, str(path))
    if isinstance(found.get("inventory"), str):
        # A relative path is the file's neighbour, wherever bsdprov runs from.
        found["inventory"] = str(path.parent / str(found["inventory"]))
    return found


def resolve(
    name: str,
    flag: int | str | None,
    environ: Mapping[str, str] | None = None,
    inventory: Mapping[str, int] | None = None,
) -> object:
    """The setting ``name``: the flag if given, else its environment variable, else the
    settings file's, else the inventory's ``defaults:`` (``Inventory.settings``, already
    checked), else the built-in default."""
    if flag is not None and flag != "":
        return flag
    environ = os.environ if environ is None else environ
    variable = ENVIRONMENT[name]
    if environ.get(variable):
        return _value(name, environ[variable], f"${variable}")
    path = settings_file(environ)
    if path is not None:
        from_file = read_file(path)
        if name in from_file:
            return from_file[name]
    if inventory and name in inventory:
        return inventory[name]
    return BUILT_IN[name]


def inventory(flag: str | None) -> str:
    return str(resolve("inventory", flag))


def whole(name: str, flag: int | None, inventory: Mapping[str, int] | None = None) -> int:
    """A whole-number setting; ``inventory`` is the loaded inventory's ``settings``."""
    value = resolve(name, flag, inventory=inventory)
    assert isinstance(value, int)  # _value made it one
    return value
