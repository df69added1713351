"""Invoke tasks: parse arguments, call the core, print, exit with an ``ExitCode``."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from bsdprov.errors import BsdprovError, ExitCode
from bsdprov.inventory import Inventory, load_inventory
from bsdprov.output import check_summary, render_json, render_text
from bsdprov.render import render_host

DEFAULT_INVENTORY = "inventories/example.yaml"
INVENTORY_HELP = f"inventory file (default: $BSDPROV_INVENTORY or {DEFAULT_INVENTORY})"

F = TypeVar("F", bound=Callable[..., Any])


def reported(fn: F) -> F:
    """Turn bsdprov errors into one message and an exit code; never show a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BsdprovError as exc:
            raise Exit(str(exc), int(exc.exit_code)) from None
        except Exception as exc:
            if os.environ.get("BSDPROV_TRACEBACK"):
                raise
            log = Path(tempfile.gettempdir()) / "bsdprov-internal-error.log"
            log.write_text(traceback.format_exc(), encoding="utf-8")
            raise Exit(
                f"internal error: {type(exc).__name__}: {exc}; the traceback is in "
                f"{log}; please report it (BSDPROV_TRACEBACK=1 shows it here)",
                int(ExitCode.FAILED),
            ) from None

    return wrapper  # type: ignore[return-value]


def inventory_path(given: str | None) -> str:
    return given or os.environ.get("BSDPROV_INVENTORY") or DEFAULT_INVENTORY


def selected(inventory: Inventory, names: list[str]) -> list[str]:
    wanted = names or list(inventory.hosts)
    for name in wanted:
        inventory.select(name)
    return wanted


@task(help={"inventory": INVENTORY_HELP})
@reported
def check(c: Context, inventory: str | None = None) -> None:
    """Validate the inventory and print a one-line summary per host."""
    sys.stdout.write(check_summary(load_inventory(inventory_path(inventory))))


@task(
    iterable=["host"],
    help={
        "host": "host to render (repeat for several; default: every host)",
        "inventory": INVENTORY_HELP,
        "json": "print the versioned JSON object instead of text",
    },
)
@reported
def render(c: Context, host: list[str], inventory: str | None = None, json: bool = False) -> None:
    """Render hosts' configuration offline (needs 'os:' in the inventory); touches nothing."""
    loaded = load_inventory(inventory_path(inventory))
    rendered = [render_host(loaded.hosts[name]) for name in selected(loaded, host)]
    if json:
        sys.stdout.write(render_json(rendered))
    else:
        sys.stdout.write("\n".join(render_text(r) for r in rendered))


ns = Collection(check, render)
