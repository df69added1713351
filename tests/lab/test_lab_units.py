"""The lab's pure parts, without starting anything: host plan, client files, state, messages."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from invoke.context import Context
from invoke.exceptions import Exit

from bsdprov.errors import ExitCode, UsageError
from bsdprov.inventory import parse_inventory
from bsdprov.lab import manager, tasks
from bsdprov.lab.clientfiles import render_inventory, render_known_hosts, render_ssh_config
from bsdprov.lab.errors import LabError
from bsdprov.lab.hosts import MANAGEMENT_SUPERNET, management_address, plan_hosts
from bsdprov.lab.paths import BOOT_SCRIPT, GATE_SCRIPT
from bsdprov.lab.rootfs import link_applets
from bsdprov.lab.state import HostRecord, LabState, ProcessId, load_state, save_state


def test_mixed_cycles_openbsd_freebsd_netbsd() -> None:
    hosts = plan_hosts(5, "mixed")
    assert [(h.name, h.os, h.interface) for h in hosts] == [
        ("lab01", "openbsd", "vio0"),
        ("lab02", "freebsd", "vtnet0"),
        ("lab03", "netbsd", "vioif0"),
        ("lab04", "openbsd", "vio0"),
        ("lab05", "freebsd", "vtnet0"),
    ]
    assert {h.release for h in hosts} == {"7.6", "14.1-RELEASE", "10.0"}


def test_management_addresses_are_unique_and_in_the_benchmark_range() -> None:
    hosts = plan_hosts(600, "netbsd")
    assert len({h.address.ip for h in hosts}) == 600
    for host in hosts:
        assert host.address.ip in MANAGEMENT_SUPERNET
        assert host.gateway in host.address.network
        assert host.gateway != host.address.ip
    assert management_address(1) == (IPv4Interface("198.18.0.1/24"), IPv4Address("198.18.0.254"))
    assert management_address(254) == (IPv4Interface("198.18.1.1/24"), IPv4Address("198.18.1.254"))


@pytest.mark.parametrize(("count", "os_choice"), [(0, "mixed"), (1000, "mixed"), (1, "linux")])
def test_bad_arguments_are_usage_errors(count: int, os_choice: str) -> None:
    with pytest.raises(UsageError):
        plan_hosts(count, os_choice)


def _records() -> tuple[HostRecord, ...]:
    return tuple(HostRecord(spec, 22000 + i) for i, spec in enumerate(plan_hosts(3, "mixed"), 1))


def _key(seed: int) -> str:
    blob = b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + bytes([seed]) * 32
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


KEYS = {f"lab0{i}": _key(i) for i in range(1, 4)}


def test_inventory_is_valid_and_describes_the_initial_config() -> None:
    text = render_inventory(_records(), KEYS, Path("/lab/ssh_config"))
    inventory = parse_inventory(text, "lab.yaml")
    lab02 = inventory.hosts["lab02"]
    assert (lab02.address, lab02.port, lab02.os) == ("127.0.0.1", 22002, "freebsd")
    assert [str(a) for a in lab02.interfaces["vtnet0"].addresses] == ["198.18.0.2/24"]
    assert lab02.routes is not None and str(lab02.routes[0].via) == "198.18.0.254"
    assert lab02.host_key == KEYS["lab02"]
    assert "defaults: {user: root, become: none, ssh_config: /lab/ssh_config}" in text


def test_ssh_config_and_known_hosts_pin_each_port() -> None:
    config = render_ssh_config(_records(), Path("/lab/id_ed25519"), Path("/lab/known_hosts"))
    block = config.split("Host lab01\n")[1].split("\n\n")[0]
    for line in (
        "HostName 127.0.0.1",
        "Port 22001",
        "User root",
        "IdentityFile /lab/id_ed25519",
        "IdentitiesOnly yes",
        "UserKnownHostsFile /lab/known_hosts",
        "StrictHostKeyChecking yes",
    ):
        assert f"    {line}\n" in block + "\n"
    known = render_known_hosts(_records(), KEYS)
    assert known.splitlines()[0] == f"[127.0.0.1]:22001 {KEYS['lab01']}"


def test_paths_with_spaces_are_quoted_in_ssh_config() -> None:
    config = render_ssh_config(_records(), Path("/my lab/key"), Path("/my lab/kh"))
    assert '    IdentityFile "/my lab/key"\n' in config


def test_state_round_trips(tmp_path: Path) -> None:
    records = _records()
    state = LabState(records, "/x/lab.yaml").with_host(
        HostRecord(records[1].spec, 22002, ProcessId(42, 4242))
    )
    save_state(tmp_path / "state.json", state)
    assert load_state(tmp_path / "state.json") == state
    assert load_state(tmp_path / "missing.json") == LabState()


def test_damaged_state_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{")
    with pytest.raises(LabError, match=r"state.json: .*run lab.down --purge"):
        load_state(path)


def test_applet_links_never_shadow_a_fake(tmp_path: Path) -> None:
    for directory in ("bin", "usr/bin"):
        (tmp_path / directory).mkdir(parents=True)
    (tmp_path / "usr/bin/uname").write_text("#!/bin/sh\n")
    link_applets(tmp_path, ["cat", "uname", "sh"], faked={"uname"})
    assert (tmp_path / "bin/cat").readlink() == Path("busybox")
    assert (tmp_path / "usr/bin/cat").readlink() == Path("../../bin/busybox")
    assert not (tmp_path / "bin/uname").exists()
    assert not (tmp_path / "usr/bin/uname").is_symlink()
    assert (tmp_path / "bin/sh").readlink() == Path("busybox")


def test_lab_tasks_need_root_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bsdprov.lab.manager.os.geteuid", lambda: 1000)
    with pytest.raises(Exit) as caught:
        tasks.up(Context(), hosts=1)
    assert caught.value.code == ExitCode.FAILED
    assert str(caught.value.message) == (
        "lab: needs root, to create namespaces and mounts; run it as root"
    )


def test_lab_tasks_need_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bsdprov.lab.manager.sys.platform", "openbsd7")
    with pytest.raises(Exit, match="needs Linux"):
        tasks.down(Context())


def test_bad_os_exits_with_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manager, "check_prerequisites", lambda: None)
    with pytest.raises(Exit) as caught:
        tasks.up(Context(), os="solaris")
    assert caught.value.code == ExitCode.USAGE
    assert "unknown OS 'solaris'" in str(caught.value.message)


def test_status_json_of_an_empty_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BSDPROV_LAB_DIR", str(tmp_path))
    tasks.status_(Context(), json=True)
    assert json.loads(capsys.readouterr().out) == {
        "inventory": None,
        "ssh_config": str(tmp_path / "ssh_config"),
        "known_hosts": str(tmp_path / "known_hosts"),
        "hosts": [],
    }


@pytest.mark.parametrize("script", [BOOT_SCRIPT, GATE_SCRIPT], ids=lambda p: p.name)
def test_on_host_scripts_parse_in_dash_and_busybox_and_pass_shellcheck(script: Path) -> None:
    tools = ("dash", "busybox", "shellcheck")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    shells = [["dash"], ["busybox", "sh"]] + [[s] for s in ("mksh", "posh") if shutil.which(s)]
    for shell in shells:
        assert subprocess.run([*shell, "-n", str(script)]).returncode == 0, shell
    shellcheck = subprocess.run(
        ["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True
    )
    assert shellcheck.returncode == 0, shellcheck.stdout
