"""Live drift on the lab, each OS: state changed by hand while the files stayed the same is
reported by ``plan`` (exit 2 with --detailed-exitcode) and repaired by ``deploy``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RebootInvariant, RunningLab
from tests.command import bsdprov
from tests.e2e.test_deploy import IFACE, edited, snapshot

pytestmark = pytest.mark.e2e

ALIAS = "198.51.100.77"
# How each OS's admin adds an alias and deletes the IPv6 default route by hand.
ADD_ALIAS = {
    "openbsd": f"ifconfig {{i}} inet alias {ALIAS} 255.255.255.255",
    "freebsd": f"ifconfig {{i}} inet {ALIAS}/32 alias",
    "netbsd": f"ifconfig {{i}} inet {ALIAS}/32 alias",
}
DELETE_DEFAULT6 = {
    "openbsd": "route -qn delete -inet6 default",
    "freebsd": "route -q delete -inet6 default",
    "netbsd": "route -q delete -inet6 default",
}


@pytest.fixture
def fresh(lab: RunningLab) -> RunningLab:
    lab.reset()
    return lab


def _dual_stack(lab: RunningLab, tmp_path: Path) -> str:
    """The lab inventory with an IPv6 address and default route on each host (the lab's
    gate needs the IPv4 default route to let a connection in, so that one stays)."""

    def change(data: dict[str, Any]) -> None:
        for n, name in enumerate(lab.names):
            host = data["hosts"][name]
            (itf,) = host["interfaces"].values()
            itf["addresses"] = [*itf["addresses"], f"2001:db8:{n + 1}::10/64"]
            host["routes"] = [*host["routes"], {"to": "default", "via": f"2001:db8:{n + 1}::1"}]

    return edited(lab, tmp_path, change)


def test_hand_made_drift_is_planned_and_repaired_on_every_os(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    inventory = _dual_stack(fresh, tmp_path)
    first = bsdprov("deploy", "--all", "-i", inventory, "--confirm-timeout", "30")
    assert first.returncode == 0, first.stdout + first.stderr
    clean = bsdprov("plan", "--all", "-i", inventory, "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr

    for name in fresh.names:
        os = fresh.os_of(name)
        done = fresh.ssh(name, ADD_ALIAS[os].format(i=IFACE[os]) + " && " + DELETE_DEFAULT6[os])
        assert done.returncode == 0, done.stdout + done.stderr
    files = {name: snapshot(fresh, name) for name in fresh.names}

    plan = bsdprov("plan", "--all", "-i", inventory, "--detailed-exitcode")
    assert plan.returncode == ExitCode.CHANGES_PENDING, plan.stdout + plan.stderr
    for n, name in enumerate(fresh.names):
        section = plan.stdout.split(f"== {name} ")[1].split("\n\n")[0]
        assert "2 live differences to repair" in section, section
        assert "files to change" not in section, section
        assert "running system differs from the files:" in section, section
        assert f"default route via 2001:db8:{n + 1}::1 missing" in section, section
        assert f"address {ALIAS} on {IFACE[fresh.os_of(name)]} not in the files" in section
        assert "commands, in order:" in section, section
    shown = json.loads(bsdprov("plan", "--all", "-i", inventory, "--json").stdout)
    for entry in shown["hosts"]:
        whats = [d["what"] for d in entry["drift"]]
        assert any(w.startswith("default route via 2001:db8:") for w in whats), entry
        assert entry["files"] == [] and entry["status"] == "changes", entry

    repaired = bsdprov("deploy", "--all", "-i", inventory, "--confirm-timeout", "30")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    for n, name in enumerate(fresh.names):
        assert f"{name}  changed (run " in repaired.stdout, repaired.stdout
        os = fresh.os_of(name)
        assert ALIAS not in fresh.ssh(name, f"ifconfig {IFACE[os]}").stdout
        route = fresh.ssh(name, "route -n get -inet6 default").stdout
        assert f"gateway: 2001:db8:{n + 1}::1" in route, route
        assert snapshot(fresh, name) == files[name], "a drift repair changes no file"
    after = bsdprov("plan", "--all", "-i", inventory, "--detailed-exitcode")
    assert after.returncode == 0, after.stdout + after.stderr
    reboot_invariant(fresh)


def test_a_host_without_drift_or_changes_stays_unchanged(fresh: RunningLab, tmp_path: Path) -> None:
    inventory = _dual_stack(fresh, tmp_path)
    name = fresh.names[0]
    first = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30")
    assert first.returncode == 0, first.stdout + first.stderr
    again = bsdprov("deploy", "--host", name, "-i", inventory)
    assert again.returncode == 0 and f"{name}  unchanged" in again.stdout, again.stdout
    data = yaml.safe_load(Path(inventory).read_text())
    assert data["hosts"][name]["routes"][-1]["to"] == "default"
