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
    """Run mypy --strict on the package, the benchmarks and the tests."""
    c.run(f"{PY} -m mypy", pty=False)


# bsdprov's own tests, none of the lab's or the shells': what a developer runs every minute.
FAST_TIER = "not e2e and not onhost and not integration and not lab"


@task(
    help={
        "update_specs": "rewrite the golden spec files from the current output",
        "workers": "test processes (pytest-xdist); each test file runs whole in one of them",
        "fast": f"only the fast tier (-m '{FAST_TIER}')",
    }
)
def test(c: Context, update_specs: bool = False, workers: int = 2, fast: bool = False) -> None:
    """Run the whole test suite, or with --fast the product's fast tier. Most of the whole
    suite's time is spent waiting on lab hosts (timers, confirm windows), so two workers halve
    it even on two cores; each worker has its own test slot, hence its own labs
    (bsdprov/lab/pytest_plugin.py)."""
    tier = f" -m '{FAST_TIER}'" if fast else ""
    if update_specs:
        c.run(f"{PY} -m pytest{tier} --update-specs", pty=False)
        return
    c.run(f"{PY} -m pytest{tier} -n {workers} --dist loadfile", pty=False)


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
        c.run(f"{bsdprov} deploy --all -i {inventory} --confirm-timeout 30 --yes", pty=False)
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


@task(
    help={
        "runs": "soak operations: random deploys and rollbacks, each with a random fault (100)",
        "seed": "the soak's seed (default: a new one, printed); replays a run exactly",
        "doc": "where to write the report (default docs/reliability.md)",
    }
)
def soak(c: Context, runs: int = 100, seed: int = 0, doc: str = "docs/reliability.md") -> None:
    """Run the fault matrix and a randomized soak on a test lab (needs root), then write
    docs/reliability.md from what they observed. Set BSDPROV_TEST_SLOT to share the machine."""
    import os
    import random
    import tempfile

    seed = seed or random.SystemRandom().randrange(1, 2**31)
    results = os.path.join(tempfile.mkdtemp(prefix="bsdprov-soak-"), "results.json")
    env = {
        "BSDPROV_SOAK_RUNS": str(runs),
        "BSDPROV_SOAK_SEED": str(seed),
        "BSDPROV_RELIABILITY_JSON": results,
    }
    print(f"soak: seed {seed}, {runs} runs")
    tests = c.run(
        f"{PY} -m pytest -q -p no:cacheprovider tests/faults/test_fault_matrix.py "
        "tests/faults/test_soak.py::test_soak",
        env=env,
        warn=True,
        pty=False,
    )
    how = f"invoke soak --runs {runs} --seed {seed}"
    c.run(f"{PY} -m tests.faults.reliability {results} {doc} --how '{how}'", pty=False)
    if tests is None or tests.failed:
        raise SystemExit(f"soak: the suites failed (seed {seed}); {doc} shows which rows")


ns = Collection()
ns.add_task(demo)
ns.add_task(bench)
ns.add_task(soak)
for name, item in product.tasks.items():
    ns.add_task(item, name)
for name, child in product.collections.items():
    ns.add_collection(child, name)
ns.add_collection(Collection("dev", lint, typecheck, test, check))
