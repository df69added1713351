"""Invoke entry point: bsdprov's own tasks plus the developer tasks (``inv dev.check``)."""

import sys

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from bsdprov.inventory import load_inventory
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
        "like": "the inventory the lab is shaped after (default: the example inventory)",
        "keep": "leave the lab running afterwards (bsdprov lab.down stops it)",
    }
)
def demo(c: Context, like: str = "inventories/example.yaml", keep: bool = False) -> None:
    """The main job on the built-in lab: one lab host per host of the example inventory (a vmd
    hypervisor, its guests, FreeBSD and NetBSD hosts), then check, plan, deploy, plan again,
    verify the hypervisor, history."""
    inventory = "inventories/lab.yaml"
    bsdprov = f"{PY} -m bsdprov"
    c.run(f"{bsdprov} lab.up --like {like} --inventory {inventory}", pty=False)
    try:
        # A lab left from an earlier demo keeps its hosts' state: start from scratch again.
        c.run(f"{bsdprov} lab.reset", pty=False)
        c.run(f"{bsdprov} check -i {inventory}", pty=False)
        c.run(f"{bsdprov} plan --all -i {inventory}", pty=False)
        c.run(f"{bsdprov} deploy --all -i {inventory} --confirm-timeout 30", pty=False)
        c.run(f"{bsdprov} plan --all -i {inventory} --detailed-exitcode", pty=False)
        hypervisors = [
            name for name, host in load_inventory(inventory).hosts.items() if host.is_hypervisor
        ]
        for name in hypervisors:
            c.run(f"{bsdprov} verify --host {name} -i {inventory}", pty=False)
        c.run(f"{bsdprov} history --all -i {inventory}", pty=False)
    finally:
        if not keep:
            c.run(f"{bsdprov} lab.down", pty=False)


@task(
    help={
        "hosts": "lab sizes to time, e.g. 10,50,100,200 (default 10,50,100)",
        "reps": "repetitions per size (default 5); tools alternate within each",
        "tools": "subset of bsdprov,pyinfra,ansible,fabric,floor (default: all)",
    }
)
def bench(c: Context, hosts: str = "10,50,100", reps: int = 5, tools: str = "") -> None:
    """Time bsdprov against pyinfra, Ansible, Fabric and the SSH floor on the same lab hosts;
    writes bench/RESULTS.md (needs root, and PyPI once for the peers' own venvs)."""
    only = f" --tools {tools}" if tools else ""
    c.run(f"{PY} -m bench --hosts {hosts} --reps {reps}{only}", pty=False)


ns = Collection()
ns.add_task(demo)
ns.add_task(bench)
for name, item in product.tasks.items():
    ns.add_task(item, name)
for name, child in product.collections.items():
    ns.add_collection(child, name)
ns.add_collection(Collection("dev", lint, typecheck, test, check))
