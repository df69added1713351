"""Issue 13, removals, on the lab (each OS): deploy v1 (an alias, a static route, a tunnel, a
bridge member and, on OpenBSD, the tunnel's sysctl), then v2 without them.

The plan of v2 shows each removal with its commands (text and ``--json``); its deploy leaves
neither the files nor the running state of what went (the host then equals a fresh host that
only ever got v2); the reboot invariant holds after it; and a rollback of v2 brings v1 back
whole, files and live state.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from bsdprov.errors import ExitCode
from bsdprov.inventory import load_inventory
from bsdprov.lab.pytest_plugin import RunningLab
from bsdprov.lab.snapshot import (
    LiveState,
    file_bytes,
    files_difference,
    live_state,
    state_difference,
)
from bsdprov.ownership import RECORD
from bsdprov.render import render_host
from tests.command import bsdprov, ok
from tests.e2e.test_rollback_invariant import canonical

pytestmark = pytest.mark.e2e

TUNNEL = {"openbsd": "gre0", "freebsd": "gif0", "netbsd": "gif0"}
MEMBER = {"openbsd": "vether0", "freebsd": "tap0", "netbsd": "tap0"}
ALIAS = "198.18.0.111"
ROUTE = "10.9.0.0/16"


def versions(lab: RunningLab, name: str, tmp_path: Path) -> tuple[str, str]:
    """v1 and v2 of the lab's inventory for ``name``: v2 keeps the bridge, without member."""
    os = lab.os_of(name)
    data = yaml.safe_load(lab.inventory.read_text())
    host = data["hosts"][name]
    ((nic, itf),) = host["interfaces"].items()
    prefix = itf["addresses"][0].split("/")[0]
    gateway = next(r["via"] for r in host["routes"] if r["to"] == "default")
    v2 = copy.deepcopy(data)
    v2["hosts"][name]["interfaces"]["bridge0"] = {"up": True}
    host["interfaces"]["bridge0"] = {"members": [MEMBER[os]]}
    host["interfaces"][MEMBER[os]] = {"up": True}
    host["interfaces"][TUNNEL[os]] = {
        "tunnel": {"local": prefix, "remote": "198.51.100.9"},
        "addresses": ["10.77.0.1/30"],
        "peer": "10.77.0.2",
    }
    itf["addresses"] = [*itf["addresses"], f"{ALIAS}/24"]
    host["routes"] = [*host["routes"], {"to": ROUTE, "via": gateway}]
    paths = []
    for label, version in (("v1", data), ("v2", v2)):
        path = tmp_path / f"{label}.yaml"
        path.write_text(yaml.safe_dump(version, sort_keys=False))
        paths.append(str(path))
    return paths[0], paths[1]


def managed(inventories: tuple[str, ...], name: str) -> list[str]:
    found = {RECORD}
    for inventory in inventories:
        loaded = load_inventory(inventory)
        found |= {s.path for s in render_host(loaded.hosts[name]).files}
    return sorted(found)


def snapshot(root: Path, paths: list[str]) -> tuple[LiveState, dict[str, bytes | None]]:
    return canonical(live_state(root)), file_bytes(root, paths)


def read(files: dict[str, bytes | None]) -> dict[str, bytes | None]:
    """The files as the OS reads them: v2 alone keeps a file that differs from its rendering
    only in comments (the lab's own hostname.if), and an empty sysctl.conf (left by v1's
    tunnel sysctl, whose line went) sets nothing."""
    lines = {
        path: b"".join(line for line in (data or b"").splitlines(True) if not line.startswith(b"#"))
        for path, data in files.items()
    }
    return {path: data or None for path, data in lines.items()}


@pytest.mark.parametrize("index", [0, 1, 2], ids=["openbsd", "freebsd", "netbsd"])
def test_v2_removes_what_v1_added_and_its_rollback_brings_v1_back(
    lab: RunningLab, tmp_path: Path, index: int
) -> None:
    lab.reset()
    name = lab.names[index]
    os = lab.os_of(name)
    root = lab.host_root(name)
    v1, v2 = versions(lab, name, tmp_path)
    paths = managed((v1, v2), name)

    # What v2 alone gives a fresh host: what v1 then v2 must leave.
    ok(bsdprov("deploy", "--host", name, "-i", v2, "--confirm-timeout", "30"))
    only_v2 = snapshot(root, [p for p in paths if p != RECORD])
    lab.reset(name)

    ok(bsdprov("deploy", "--host", name, "-i", v1, "--confirm-timeout", "30"))
    deployed_v1 = snapshot(root, paths)
    assert f"{ALIAS}/24" in "\n".join(deployed_v1[0].lines()) or ALIAS in str(deployed_v1[0])
    assert TUNNEL[os] in {i.name for i in deployed_v1[0].interfaces}

    plan = bsdprov("plan", "--host", name, "-i", v2, "--detailed-exitcode")
    assert plan.returncode == ExitCode.CHANGES_PENDING, plan.stdout + plan.stderr
    for what in (
        f"  - interface {TUNNEL[os]}\n",
        f"  - interface {MEMBER[os]}\n",
        f"  - bridge member {MEMBER[os]} of bridge0\n",
        f"  - address {ALIAS} on ",
        f"  - route to {ROUTE}\n",
    ):
        assert what in plan.stdout, plan.stdout
    if os == "openbsd":
        assert "  - sysctl net.inet.gre.allow (back to the OS default, 0)\n" in plan.stdout
    hosts = json.loads(ok(bsdprov("plan", "--host", name, "-i", v2, "--json")))["hosts"]
    assert {
        "what": f"interface {TUNNEL[os]}",
        "commands": [["ifconfig", TUNNEL[os], "destroy"]],
    } in (hosts[0]["removals"])

    ok(bsdprov("deploy", "--host", name, "-i", v2, "--confirm-timeout", "30"))
    after_v2 = snapshot(root, [p for p in paths if p != RECORD])
    difference = state_difference(only_v2[0], after_v2[0])
    difference += files_difference(read(only_v2[1]), read(after_v2[1]))
    assert not difference, f"v1 then v2 differs from v2 alone:\n{difference}"
    again = bsdprov("plan", "--host", name, "-i", v2, "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr

    lab.assert_reboot_keeps_state(name)

    ok(bsdprov("rollback", "--host", name, "-i", v2, "--confirm-timeout", "30"))
    back = snapshot(root, paths)
    difference = state_difference(deployed_v1[0], back[0])
    difference += files_difference(deployed_v1[1], back[1])
    assert not difference, f"the rollback of v2 did not bring v1 back:\n{difference}"


@pytest.mark.parametrize("index", [0, 1, 2], ids=["openbsd", "freebsd", "netbsd"])
def test_a_kept_interface_ends_with_exactly_its_declared_addresses(
    lab: RunningLab, tmp_path: Path, index: int
) -> None:
    # v1 gives the NIC an IPv4 alias and an IPv6 address; v2 drops both. FreeBSD's netif
    # restart keeps IPv6 addresses once rc.conf sets none (network.subr ipv6_down returns at
    # `ipv6if` false), and NetBSD's netbsd-ifup flushes only the families the file still sets.
    lab.reset()
    name = lab.names[index]
    root = lab.host_root(name)
    data = yaml.safe_load(lab.inventory.read_text())
    host = data["hosts"][name]
    ((nic, itf),) = host["interfaces"].items()
    v2 = tmp_path / "v2.yaml"
    v2.write_text(yaml.safe_dump(data, sort_keys=False))
    itf["addresses"] = [*itf["addresses"], f"{ALIAS}/24", "2001:db8:77::1/64"]
    v1 = tmp_path / "v1.yaml"
    v1.write_text(yaml.safe_dump(data, sort_keys=False))

    ok(bsdprov("deploy", "--host", name, "-i", str(v2), "--confirm-timeout", "30"))
    only_v2 = canonical(live_state(root))
    lab.reset(name)
    ok(bsdprov("deploy", "--host", name, "-i", str(v1), "--confirm-timeout", "30"))
    assert "2001:db8:77::1" in "\n".join(live_state(root).lines())
    plan = ok(bsdprov("plan", "--host", name, "-i", str(v2)))
    assert f"  - address 2001:db8:77::1 on {nic}\n" in plan, plan
    ok(bsdprov("deploy", "--host", name, "-i", str(v2), "--confirm-timeout", "30"))
    difference = state_difference(only_v2, canonical(live_state(root)))
    assert not difference, f"the addresses v1 added stay:\n{difference}"


@pytest.mark.parametrize("index", [0, 1, 2], ids=["openbsd", "freebsd", "netbsd"])
def test_a_default_route_no_longer_declared_is_deleted_and_its_rollback_adds_it(
    lab: RunningLab, tmp_path: Path, index: int
) -> None:
    # IPv6: the lab's SSH path needs the IPv4 default (a host without it cannot confirm).
    lab.reset()
    name = lab.names[index]
    root = lab.host_root(name)
    data = yaml.safe_load(lab.inventory.read_text())
    host = data["hosts"][name]
    ((itf,),) = [list(host["interfaces"].values())]
    itf["addresses"] = [*itf["addresses"], "2001:db8:77::1/64"]
    v2 = tmp_path / "v2.yaml"
    v2.write_text(yaml.safe_dump(data, sort_keys=False))
    host["routes"] = [*host["routes"], {"to": "default", "via": "2001:db8:77::ff"}]
    v1 = tmp_path / "v1.yaml"
    v1.write_text(yaml.safe_dump(data, sort_keys=False))

    ok(bsdprov("deploy", "--host", name, "-i", str(v1), "--confirm-timeout", "30"))
    with_default = canonical(live_state(root))
    assert any("2001:db8:77::ff" in r for r in with_default.routes), with_default.routes
    plan = ok(bsdprov("plan", "--host", name, "-i", str(v2)))
    assert "  - IPv6 default route\n" in plan, plan
    ok(bsdprov("deploy", "--host", name, "-i", str(v2), "--confirm-timeout", "30"))
    routes = canonical(live_state(root)).routes
    assert not any("2001:db8:77::ff" in r for r in routes), routes
    lab.assert_reboot_keeps_state(name)
    ok(bsdprov("rollback", "--host", name, "-i", str(v2), "--confirm-timeout", "30"))
    difference = state_difference(with_default, canonical(live_state(root)))
    assert not difference, f"the rollback did not bring the default route back:\n{difference}"
