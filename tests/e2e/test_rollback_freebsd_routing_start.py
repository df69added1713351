"""Review of issue 16: a FreeBSD rollback on a host whose routes also come from router adverts.

Such a host's deploy applies routes with ``service routing start`` (a restart would flush the
learned ones), after deleting each route whose rc.conf key changes, since ``route add`` never
replaces one. Its rollback must do the same, or the run's default route stays (the restored
one fails with "File exists").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov, ok
from tests.e2e.test_rollback_invariant import assert_same, edited, managed_paths, record

pytestmark = pytest.mark.e2e


def test_freebsd_rollback_of_a_new_gateway_with_router_adverts(
    lab: RunningLab, tmp_path: Path
) -> None:
    lab.reset()
    name = lab.names[1]
    root = lab.host_root(name)

    def gateway(address: str) -> Callable[[dict[str, Any]], None]:
        def change(data: dict[str, Any]) -> None:
            host = data["hosts"][name]
            (itf,) = host["interfaces"].values()
            itf["autoconf6"] = True
            host["routes"] = [{"to": "default", "via": address}]

        return change

    v1 = edited(lab.inventory, tmp_path / "v1.yaml", gateway("198.18.0.254"))
    v2 = edited(lab.inventory, tmp_path / "v2.yaml", gateway("198.18.0.253"))
    paths = managed_paths(v2, name, root)
    ok(bsdprov("deploy", "--host", name, "-i", v1, "--confirm-timeout", "30"))
    deployed_v1 = record(root, paths)
    ok(bsdprov("deploy", "--host", name, "-i", v2, "--confirm-timeout", "30"))
    deployed_v2 = record(root, paths)
    assert any("198.18.0.253" in r for r in deployed_v2[0].routes), deployed_v2[0].routes
    ok(bsdprov("rollback", "--host", name, "-i", v2, "--confirm-timeout", "30"))
    assert_same(root, deployed_v1, paths, "after rolling back the new gateway")
    ok(bsdprov("rollback", "--host", name, "-i", v2, "--confirm-timeout", "30"))
    assert_same(root, deployed_v2, paths, "after rolling back the rollback")
