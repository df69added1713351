"""NetBSD on the lab, end to end: what a deploy leaves is what the host keeps (issues 10, 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.lab.pytest_plugin import RunningLab
from tests.e2e.test_deploy import bsdprov, edited

pytestmark = pytest.mark.e2e


@pytest.fixture
def netbsd(lab: RunningLab) -> str:
    name = next(n for n in lab.names if lab.os_of(n) == "netbsd")
    lab.reset(name)
    return name


def default_gateway(lab: RunningLab, name: str) -> str:
    shown = lab.ssh(name, "route -n get default", check=False).stdout
    return next((line.split()[1] for line in shown.splitlines() if "gateway:" in line), "")


def test_a_host_without_routes_keeps_its_default_route(
    lab: RunningLab, netbsd: str, tmp_path: Path
) -> None:
    """Issue 11.3: bsdprov never manages routes here, so activation must not lose them."""
    before = default_gateway(lab, netbsd)
    assert before

    def change(data: dict) -> None:
        host = data["hosts"][netbsd]
        del host["routes"]
        itf = host["interfaces"]["vioif0"]
        itf["addresses"] = [*itf["addresses"], "203.0.113.30/32"]

    inventory = edited(lab, tmp_path, change)
    deployed = bsdprov("deploy", "--host", netbsd, "-i", inventory, "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"{netbsd}  changed (run " in deployed.stdout
    assert "203.0.113.30/32" in lab.ssh(netbsd, "ifconfig vioif0").stdout
    assert default_gateway(lab, netbsd) == before
