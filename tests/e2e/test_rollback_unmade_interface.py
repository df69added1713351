"""Review of issue 16: a deploy that fails before it creates an interface still rolls back.

The rollback of a run that adds a cloned interface destroys it (``ifconfig IF destroy``). When
the run's activation stops before the step that creates it, the interface does not exist; the
destroy fails, and the rollback must not end ``rollback-failed`` for that (its resume would fail
the same way at every later deploy, which then refuses to run).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov
from tests.e2e.test_rollback_invariant import (
    FIRST_FAILING,
    assert_same,
    edited,
    managed_paths,
    record,
)

pytestmark = pytest.mark.e2e


def test_a_deploy_failing_before_its_tunnel_exists_rolls_back_cleanly(
    lab: RunningLab, tmp_path: Path
) -> None:
    # FreeBSD: the first `service netif restart` fails, before the one that creates gif0. The
    # destroy steps of OpenBSD and NetBSD are the same (tests/test_rollback_plan_destroy.py).
    lab.reset()
    name = lab.names[1]
    root = lab.host_root(name)

    def add_tunnel(data: dict[str, Any]) -> None:
        host = data["hosts"][name]
        (address,) = [a for a in next(iter(host["interfaces"].values()))["addresses"] if "." in a]
        host["interfaces"]["gif0"] = {
            "tunnel": {"local": address.split("/")[0], "remote": "198.51.100.200"},
            "addresses": ["2001:db8:1::2/64"],
            "peer": "2001:db8:1::1",
        }

    inventory = edited(lab.inventory, tmp_path / "lab.yaml", add_tunnel)
    paths = managed_paths(inventory, name, root)
    before = record(root, paths)
    tool = FIRST_FAILING[lab.os_of(name)]
    faults = root / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / tool).write_text(f"{tool}: simulated failure\n")
    result = bsdprov("deploy", "--host", name, "-i", inventory)
    out = result.stdout + result.stderr
    assert result.returncode == ExitCode.ROLLED_BACK, out
    assert "rollback-failed" not in out and "left to redo" not in out, out
    assert_same(root, before, paths, "after the failed activation")
