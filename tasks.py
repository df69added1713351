"""Invoke entry point: bsdprov's own tasks plus the developer tasks (``inv dev.check``)."""

import sys

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from bsdprov.tasks import ns as product

# Tools run from this interpreter's environment, so no activated venv is needed.
PY = sys.executable


@task
def lint(c: Context) -> None:
    """Run ruff (lint and format check)."""
    c.run(f"{PY} -m ruff check .", pty=False)
    c.run(f"{PY} -m ruff format --check .", pty=False)


@task
def typecheck(c: Context) -> None:
    """Run mypy --strict on the package."""
    c.run(f"{PY} -m mypy", pty=False)


@task(help={"update_specs": "rewrite the golden spec files from the current output"})
def test(c: Context, update_specs: bool = False) -> None:
    """Run the whole test suite."""
    c.run(f"{PY} -m pytest" + (" --update-specs" if update_specs else ""), pty=False)


@task(lint, typecheck, test)
def check(c: Context) -> None:
    """Lint, type-check and test: what CI runs."""


ns = Collection()
for name, item in product.tasks.items():
    ns.add_task(item, name)
for name, child in product.collections.items():
    ns.add_collection(child, name)
ns.add_collection(Collection("dev", lint, typecheck, test, check))
