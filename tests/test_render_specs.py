"""Render specs: ``host.yaml`` in, the exact files, modes, checks and commands out.

A case folder holds ``host.yaml`` (an inventory with one host, or a vmd hypervisor first and
then only its guests, whose VMs it renders), optionally ``current/`` (files as they are on the
host, for files bsdprov edits by key or line) and ``expected/`` (``files.txt`` with path, mode,
owner; each file's text under its path; ``checks.txt``; ``steps.txt``; ``verify.txt``; for a
hypervisor ``creates.txt`` and ``owned.txt``) or ``expected_error.txt``. Rewrite goldens with
``pytest --update-specs`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import BsdprovError
from bsdprov.inventory import load_inventory
from bsdprov.render import render_host
from tests.specs import SPECS, case_id, cases, read_tree, rendered_tree, write_tree

CASES = cases("render")


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_render_spec(case: Path, update_specs: bool) -> None:
    inventory = load_inventory(case / "host.yaml")
    host = next(iter(inventory.hosts.values()))
    guests = inventory.guests(host.name)
    assert {g.name for g in guests} == set(inventory.hosts) - {host.name}, (
        "a render spec holds one host, or a hypervisor first and then only its guests"
    )
    assert case.parent.name == host.os, f"{case_id(case)} is filed under the wrong OS"
    error_file = case / "expected_error.txt"
    try:
        tree = rendered_tree(render_host(host, guests=guests), case / "current")
    except BsdprovError as exc:
        if update_specs:
            error_file.write_text(f"{exc}\n")
        assert error_file.exists(), f"unexpected error: {exc}"
        assert f"{exc}\n" == error_file.read_text()
        return
    assert not error_file.exists(), "expected an error, but the host rendered"
    if update_specs:
        write_tree(case / "expected", tree)
    assert tree == read_tree(case / "expected")


def test_every_os_has_specs() -> None:
    assert {c.parent.name for c in CASES} == {"freebsd", "openbsd", "netbsd"}


def test_scenario_b_spec_is_the_example_inventory() -> None:
    """The vmd_scenario_b golden case holds the example's hv1, web01 and db01 exactly."""
    example = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")
    case = load_inventory(SPECS / "render" / "openbsd" / "vmd_scenario_b" / "host.yaml")
    for name in ("hv1", "web01", "db01"):
        assert case.hosts[name] == example.hosts[name], name
