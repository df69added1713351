"""Issue 16's invariant on the lab: a rollback is the exact inverse of a deploy.

For each end-to-end deploy scenario, the host's live state (addresses, routes, interfaces,
sysctls, pf rules and anchors, daemons, VMs, the host name: ``bsdprov.lab.snapshot``) and its
managed files are recorded before the deploy; after the deploy and a ``rollback`` (or a deploy
that fails and rolls itself back, or the timer's rollback) both equal the record. Rolling back
the rollback gives the deployed state back. A difference is printed line by line.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bsdprov.errors import ExitCode
from bsdprov.inventory import load_inventory
from bsdprov.lab.pytest_plugin import RunningLab, slot_dir, slot_port
from bsdprov.lab.snapshot import (
    LiveState,
    file_bytes,
    files_difference,
    live_state,
    state_difference,
)
from bsdprov.render import render_host
from tests.command import bsdprov, ok
from tests.e2e.like_lab import LikeLab

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "inventories" / "example.yaml"
LAB_DIR = slot_dir(Path("/var/lib/bsdprov-lab-rollback-test"))
BASE_PORT = slot_port(25101)  # clear of the other test labs (24001... to 24308)
LIKE = LikeLab(LAB_DIR, BASE_PORT)
# Files bsdprov may write that no rendering names: VM anchors by pattern.
OWNED_DIRS = ("etc/pf.vm",)

Record = tuple[LiveState, dict[str, bytes | None]]


def managed_paths(inventory: str, name: str, root: Path) -> list[str]:
    """Every file the inventory's rendering of ``name`` manages, and owned files present."""
    loaded = load_inventory(inventory)
    host = loaded.hosts[name]
    paths = {spec.path for spec in render_host(host, guests=loaded.guests(name)).files}
    for directory in OWNED_DIRS:
        if (root / directory).is_dir():
            paths |= {f"/{directory}/{p.name}" for p in (root / directory).iterdir()}
    return sorted(paths)


def record(root: Path, paths: list[str]) -> Record:
    return canonical(live_state(root)), file_bytes(root, paths)


def canonical(state: LiveState) -> LiveState:
    """The state with each interface's settings grouped by key: the fakes append a key where
    it is set, so ``up 1`` before or after ``inet ...`` is one state (the order among the
    addresses, which matters, is kept)."""
    interfaces = tuple(
        dataclasses.replace(i, settings=tuple(sorted(i.settings, key=lambda s: s.split(" ")[0])))
        for i in state.interfaces
    )
    return dataclasses.replace(state, interfaces=interfaces)


def assert_same(root: Path, wanted: Record, paths: list[str], when: str) -> None:
    state, files = record(root, paths)
    difference = state_difference(wanted[0], state) + files_difference(wanted[1], files)
    assert not difference, f"{when}: the host differs from the record:\n{difference}"


def edited(source: Path, target: Path, change: Callable[[dict[str, Any]], None]) -> str:
    data = yaml.safe_load(source.read_text())
    change(data)
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(target)


# --- the three OSes' guests (the session lab: lab01 openbsd, lab02 freebsd, lab03 netbsd) -----


@pytest.fixture
def fresh(lab: RunningLab) -> RunningLab:
    lab.reset()
    return lab


def renamed_with_alias(name: str, n: int) -> Callable[[dict[str, Any]], None]:
    """The deploy of test_deploy.py (an alias and a description) plus a new host name."""

    def change(data: dict[str, Any]) -> None:
        host = data["hosts"][name]
        (itf,) = host["interfaces"].values()
        itf["addresses"] = [*itf["addresses"], f"203.0.113.{n + 10}/32"]
        itf["description"] = "managed by bsdprov"
        host["hostname"] = f"{name}-new.example.org"

    return change


def test_on_every_os_a_rollback_gives_back_the_state_before_the_deploy(
    fresh: RunningLab, tmp_path: Path
) -> None:
    for n, name in enumerate(fresh.names):
        root = fresh.host_root(name)
        inventory = edited(fresh.inventory, tmp_path / f"{name}.yaml", renamed_with_alias(name, n))
        paths = managed_paths(inventory, name, root)
        before = record(root, paths)
        ok(bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
        deployed = record(root, paths)
        assert deployed[0].hostname == f"{name}-new.example.org"
        assert deployed != before

        preview = ok(bsdprov("rollback", "--host", name, "-i", inventory, "--dry-run"))
        assert f"hostname {name}" in preview, "the old name is set again, shown in the plan"
        ok(bsdprov("rollback", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
        assert_same(root, before, paths, f"{name} after rollback")

        # The rollback is itself a run: rolling it back gives the deployed state back.
        ok(bsdprov("rollback", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
        assert_same(root, deployed, paths, f"{name} after rolling back the rollback")


# The first call of this tool in each OS's activation fails once; the rollback's own calls work.
# OpenBSD's has none the lab can fail once this way (its checks run netstart first, the probe
# reads the host name, its first ifconfig may fail): the hypervisor's verify failure below is
# OpenBSD's case.
FIRST_FAILING = {"freebsd": "service", "netbsd": "ifconfig"}


@pytest.mark.parametrize("index", [1, 2], ids=["freebsd", "netbsd"])
def test_a_deploy_that_fails_at_activation_gives_back_the_state_before(
    fresh: RunningLab, tmp_path: Path, index: int
) -> None:
    # Issue 16: after a FreeBSD deploy that rolled back, `hostname` still showed the new name.
    name = fresh.names[index]
    root = fresh.host_root(name)
    inventory = edited(fresh.inventory, tmp_path / "lab.yaml", renamed_with_alias(name, index))
    paths = managed_paths(inventory, name, root)
    before = record(root, paths)
    tool = FIRST_FAILING[fresh.os_of(name)]
    faults = root / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / tool).write_text(f"{tool}: simulated failure\n")
    result = bsdprov("deploy", "--host", name, "-i", inventory)
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "step failed (exit 1)" in result.stdout
    assert_same(root, before, paths, "after the failed activation")
    assert fresh.ssh(name, "hostname").stdout.strip() == before[0].hostname


@pytest.mark.parametrize("index", [0, 1, 2], ids=["openbsd", "freebsd", "netbsd"])
def test_the_timers_rollback_gives_back_the_state_before(
    fresh: RunningLab, tmp_path: Path, index: int
) -> None:
    name = fresh.names[index]
    root = fresh.host_root(name)

    def move(data: dict[str, Any]) -> None:
        host = data["hosts"][name]
        (itf,) = host["interfaces"].values()
        itf["addresses"] = ["198.18.9.9/24"]
        host["routes"] = [{"to": "default", "via": "198.18.9.254"}]
        host["hostname"] = "moved.example.org"

    inventory = edited(fresh.inventory, tmp_path / "lab.yaml", move)
    paths = managed_paths(inventory, name, root)
    before = record(root, paths)
    result = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "10")
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "not confirmed within 10s" in result.stdout
    assert_same(root, before, paths, "after the timer's rollback")


def test_netbsd_rollback_to_an_interface_configured_by_rc_conf(
    fresh: RunningLab, tmp_path: Path
) -> None:
    # Issue 10 case 10: the rollback's re-activation failed with "netbsd-ifup:
    # /etc/ifconfig.vioif0: no such file" and the host kept the new configuration.
    name = fresh.names[2]
    root = fresh.host_root(name)
    config = (root / "etc/ifconfig.vioif0").read_text().strip()
    rc_conf = root / "etc/rc.conf"
    rc_conf.write_text(rc_conf.read_text() + f'ifconfig_vioif0="{config}"\n')
    (root / "etc/ifconfig.vioif0").unlink()
    inventory = edited(fresh.inventory, tmp_path / "lab.yaml", renamed_with_alias(name, 2))
    paths = managed_paths(inventory, name, root)
    before = record(root, paths)
    ok(bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    assert "ifconfig_vioif0" not in rc_conf.read_text(), "the variable would hide the file"
    undone = ok(bsdprov("rollback", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    assert "no such file" not in undone
    assert_same(root, before, paths, "after the rollback")
    assert "203.0.113.12" not in fresh.ssh(name, "ifconfig vioif0").stdout


def test_a_rollback_that_fails_half_way_names_what_is_left_and_the_next_run_finishes_it(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[1]  # freebsd
    root = fresh.host_root(name)
    inventory = edited(fresh.inventory, tmp_path / "lab.yaml", renamed_with_alias(name, 1))
    paths = managed_paths(inventory, name, root)
    before = record(root, paths)
    faults = root / "var/lab/faults/fail"
    faults.mkdir(parents=True, exist_ok=True)
    # Every `service` call fails: the deploy's activation, then the rollback's own.
    (faults / "service").write_text("service: simulated failure\n")
    result = bsdprov("deploy", "--host", name, "-i", inventory)
    assert result.returncode == ExitCode.FAILED, result.stdout + result.stderr
    assert "the rollback itself failed at service netif restart vtnet0 (exit 1)" in result.stdout
    assert "left to redo: service netif restart vtnet0 | service routing restart" in result.stdout
    run_id = result.stdout.split("(run ")[1].split(")")[0]
    remaining = root / f"var/db/bsdprov/runs/{run_id}/remaining"
    assert remaining.read_text().splitlines() == [
        "service netif restart vtnet0",
        "service routing restart",
    ]

    # Still failing: the next deploy says why it cannot go on, and changes nothing.
    again = bsdprov("deploy", "--host", name, "-i", inventory)
    assert again.returncode == ExitCode.FAILED
    assert f"run {run_id}'s rollback failed half-way and cannot be finished" in again.stdout
    assert "left to redo: service netif restart vtnet0" in again.stdout

    # Once the cause is gone, the next run finishes the rollback first, then does its own.
    (faults / "service").unlink()
    ok(bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    state = (root / f"var/db/bsdprov/runs/{run_id}/state").read_text().strip()
    assert state == "rolled-back"
    assert "resumed and completed" in (root / f"var/db/bsdprov/runs/{run_id}/reason").read_text()
    ok(bsdprov("rollback", "--host", name, "-i", inventory, "--confirm-timeout", "30"))
    assert_same(root, before, paths, "after the resumed rollback, a deploy and its rollback")


# --- the vmd hypervisor with its guests, and the tunnel host (example.yaml's shape) ------------


@pytest.fixture(scope="module")
def like(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with LIKE.up(EXAMPLE, tmp_path_factory.mktemp("rollback-like")) as inventory:
        yield inventory


@pytest.fixture
def like_fresh(like: Path) -> Path:
    LIKE.reset()
    return like


host_root = LIKE.root


def records(inventory: str) -> dict[str, tuple[Record, list[str]]]:
    found = {}
    for name in load_inventory(inventory).hosts:
        if host_root(name).is_dir():
            paths = managed_paths(inventory, name, host_root(name))
            found[name] = (record(host_root(name), paths), paths)
    return found


def assert_all_same(wanted: dict[str, tuple[Record, list[str]]], when: str) -> None:
    for name, (state, paths) in wanted.items():
        assert_same(host_root(name), state, paths, f"{name} {when}")


def only_unchanged_failed(result: subprocess.CompletedProcess[str], unchanged: set[str]) -> bool:
    """Every host rolled back but those the deploy left unchanged (they have no run)."""
    failed = [w for w in map(str.split, result.stdout.splitlines()) if w[1:2] == ["failed:"]]
    return all(
        w[0] in unchanged and "no applied run to roll back" in " ".join(w) for w in failed
    ) and (result.returncode == 0 or bool(failed))


def test_a_hypervisor_and_its_guests_from_nothing_roll_back_to_nothing(like_fresh: Path) -> None:
    # Issue 16: rolling back a vmd hypervisor's first deploy failed every time with
    # "check failed: pfctl -a vm/web01 -nf /etc/pf.vm/web01.conf: No such file or directory".
    inventory = str(like_fresh)
    before = records(inventory)
    planned = ok(bsdprov("plan", "--host", "hv1", "-i", inventory))
    assert "if rolled back, commands, in order:\n" in planned
    assert "\n  ifconfig bridge1 destroy  # may fail\n" in planned
    out = ok(bsdprov("deploy", "--all", "-i", inventory, "--confirm-timeout", "30"))
    # A host whose files differ from the rendering only in comments is left as it is: no run.
    unchanged = {w[0] for w in map(str.split, out.splitlines()) if w[1:2] == ["unchanged"]}
    deployed = records(inventory)
    preview = ok(bsdprov("rollback", "--host", "hv1", "-i", inventory, "--dry-run"))
    # What the plan said a rollback would run is what the rollback plans: no check of an
    # anchor file it removes, the interfaces the run created destroyed.
    shown = preview.split("checks, on the new files before anything is activated:\n")[1]
    assert shown.startswith("  pfctl -nf /etc/pf.conf\ncommands, in order:\n"), shown
    assert "\n  ifconfig bridge1 destroy  # may fail\n" in shown
    assert planned.split("if rolled back, commands, in order:\n")[1].split("\n\n")[0] in shown
    undone = bsdprov("rollback", "--all", "-i", inventory, "--confirm-timeout", "30")
    assert only_unchanged_failed(undone, unchanged), undone.stdout + undone.stderr
    assert_all_same(before, "after rolling back the first deploy")
    redone = bsdprov("rollback", "--all", "-i", inventory, "--confirm-timeout", "30")
    assert only_unchanged_failed(redone, unchanged), redone.stdout + redone.stderr
    assert_all_same(deployed, "after rolling back the rollback")


def test_each_later_hypervisor_change_rolls_back_exactly(like_fresh: Path, tmp_path: Path) -> None:
    base = str(like_fresh)
    ok(bsdprov("deploy", "--all", "-i", base, "--confirm-timeout", "30"))
    rule = {"proto": "udp", "port": 53}
    mac = "02:00:00:00:01:99"
    changes: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
        ("remove a VM", lambda d: d["hosts"]["obsd1"].pop("vm"), ()),
        ("add a rule", lambda d: d["hosts"]["web01"]["vm"]["firewall"].append(rule), ()),
        (
            "change a MAC",
            lambda d: d["hosts"]["db01"]["vm"]["nics"][0].update(mac=mac),
            ("--restart-vms",),
        ),
    ]
    for n, (what, change, flags) in enumerate(changes):
        inventory = edited(like_fresh, tmp_path / f"change{n}.yaml", change)
        paths = managed_paths(base, "hv1", host_root("hv1"))
        before = record(host_root("hv1"), paths)
        ok(bsdprov("deploy", "--host", "hv1", *flags, "-i", inventory, "--confirm-timeout", "30"))
        deployed = record(host_root("hv1"), paths)
        assert deployed != before, what
        ok(bsdprov("rollback", "--host", "hv1", "-i", inventory, "--confirm-timeout", "30"))
        assert_same(host_root("hv1"), before, paths, f"after rolling back '{what}'")
        ok(bsdprov("rollback", "--host", "hv1", "-i", inventory, "--confirm-timeout", "30"))
        assert_same(host_root("hv1"), deployed, paths, f"after rolling back the rollback of {what}")
        ok(bsdprov("rollback", "--host", "hv1", "-i", inventory, "--confirm-timeout", "30"))
        assert_same(host_root("hv1"), before, paths, f"back to the base after '{what}'")


def test_a_hypervisor_whose_verify_fails_rolls_back_to_nothing(like_fresh: Path) -> None:
    inventory = str(like_fresh)
    before = records(inventory)
    faults = host_root("hv1") / "var/lab/faults/fail-once"
    faults.mkdir(parents=True, exist_ok=True)
    (faults / "rcctl").write_text("rcctl: injected failure\n")  # dhcpd stays stopped
    result = bsdprov("deploy", "--host", "hv1", "-i", inventory, "--confirm-timeout", "30")
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "verify failed: 'rcctl check dhcpd'" in result.stdout
    assert_all_same(before, "after the failed verify")
