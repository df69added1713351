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


@task(
    help={
        "hosts": "lab hosts to start (default 3: one per OS)",
        "keep": "leave the lab running afterwards (bsdprov lab.down stops it)",
    }
)
def demo(c: Context, hosts: int = 3, keep: bool = False) -> None:
    """The main job on the built-in lab: start it, check, plan, deploy, plan again, history."""
    inventory = "inventories/lab.yaml"
    bsdprov = f"{PY} -m bsdprov"
    c.run(f"{bsdprov} lab.up --hosts {hosts} --os mixed --inventory {inventory}", pty=False)
    try:
        c.run(f"{bsdprov} check -i {inventory}", pty=False)
        c.run(f"{bsdprov} plan --all -i {inventory}", pty=False)
        c.run(f"{bsdprov} deploy --all -i {inventory} --confirm-timeout 30", pty=False)
        c.run(f"{bsdprov} plan --all -i {inventory} --detailed-exitcode", pty=False)
        c.run(f"{bsdprov} history --all -i {inventory}", pty=False)
    finally:
        if not keep:
            c.run(f"{bsdprov} lab.down", pty=False)


ns = Collection()
ns.add_task(demo)
for name, item in product.tasks.items():
    ns.add_task(item, name)
for name, child in product.collections.items():
    ns.add_collection(child, name)
ns.add_collection(Collection("dev", lint, typecheck, test, check))
