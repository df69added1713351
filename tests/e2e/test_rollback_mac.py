"""Review of issue 16: a rollback puts back the MAC address an interface had before the run.

No boot script resets a link-level address, so re-applying a restored configuration without a
``lladdr``/``ether``/``link`` line leaves the run's MAC: the probe reads the old one before the
run, and the rollback sets it again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov, ok
from tests.e2e.test_rollback_invariant import assert_same, edited, managed_paths, record

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("index", [0, 1, 2], ids=["openbsd", "freebsd", "netbsd"])
def test_a_rollback_gives_back_the_mac_before_the_run(
    lab: RunningLab, tmp_path: Path, index: int
) -> None:
    lab.reset()
    name = lab.names[index]
    root = lab.host_root(name)

    def new_mac(data: dict[str, Any]) -> None:
        (itf,) = data["hosts"][name]["interfaces"].values()
        itf["mac"] = f"02:00:00:aa:bb:1{index}"

    inventory = edited(lab.inventory, tmp_path / "lab.yaml", new_mac)
    paths = managed_paths(inventory, name, root)
    before = record(root, paths)
    ok(bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    deployed = record(root, paths)
    assert any(f"02:00:00:aa:bb:1{index}" in s for i in deployed[0].interfaces for s in i.settings)
    ok(bsdprov("rollback", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    assert_same(root, before, paths, "after the rollback")
    ok(bsdprov("rollback", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    assert_same(root, deployed, paths, "after rolling back the rollback")
