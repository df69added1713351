"""Render specs: ``host.yaml`` in, the exact files, modes, checks and commands out.

A case folder holds ``host.yaml`` (an inventory with one host), optionally ``current/`` (files
as they are on the host, for files bsdprov edits by key) and ``expected/`` (``files.txt`` with
path, mode, owner; each file's text under its path; ``checks.txt``; ``steps.txt``) or
``expected_error.txt``. Rewrite goldens with ``pytest --update-specs`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import BsdprovError
from bsdprov.inventory import load_inventory
from bsdprov.render import render_host
from tests.specs import case_id, cases, read_tree, rendered_tree, write_tree

CASES = cases("render")


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_render_spec(case: Path, update_specs: bool) -> None:
    inventory = load_inventory(case / "host.yaml")
    assert len(inventory.hosts) == 1, "a render spec holds exactly one host"
    (host,) = inventory.hosts.values()
    assert case.parent.name == host.os, f"{case_id(case)} is filed under the wrong OS"
    error_file = case / "expected_error.txt"
    try:
        tree = rendered_tree(render_host(host), case / "current")
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
