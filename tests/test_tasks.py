"""Tasks run as a user runs them: stdout, stderr and exit codes, in-process and as a command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bsdprov.console import program
from bsdprov.errors import ExitCode

ROOT = Path(__file__).parent.parent
EXAMPLE = str(ROOT / "inventories" / "example.yaml")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        program.run(["bsdprov", *argv], exit=True)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_check_prints_a_line_per_host(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "-i", EXAMPLE)
    assert code == ExitCode.OK
    assert "web01  openbsd, admin@203.0.113.21, 1 interface, 1 route" in out
    assert out.endswith("example.yaml: 8 hosts, no problems\n")


def test_bad_inventory_gives_every_message_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "hosts:\n  web01:\n    interfaces:\n      vio0: {addresses: [203.0.113.300/32]}\n"
        "      vio1: {mac: nope}\n"
    )
    code, out, err = run(capsys, "check", "-i", str(bad))
    assert code == ExitCode.USAGE and out == ""
    assert err == (
        f"{bad}:4: hosts.web01.interfaces.vio0.addresses[0]: '203.0.113.300/32' is not an IPv4 "
        f"address\n{bad}:5: hosts.web01.interfaces.vio1.mac: 'nope' is not a MAC address\n"
    )


def test_missing_inventory_names_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "check", "-i", "/nonexistent/inv.yaml")
    assert code == ExitCode.USAGE
    assert err == "/nonexistent/inv.yaml: cannot read: No such file or directory\n"


def test_inventory_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BSDPROV_INVENTORY", EXAMPLE)
    code, out, _ = run(capsys, "check")
    assert code == 0 and "8 hosts" in out


def test_render_text_shows_files_modes_and_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "--host", "obsd1", "-i", EXAMPLE)
    assert code == 0
    assert "--- /etc/hostname.vio0 (0640 root:wheel)\n" in out
    assert "!route -qn add -inet 198.51.100.1 -cloning -link -iface $if\n" in out
    assert "  sh /etc/netstart -n vio0\n" in out
    commands = out.split("activation commands, in order")[1]
    assert commands.index("route -qn delete default") < commands.index("sh /etc/netstart vio0")


def test_render_json_is_the_documented_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "render", "--host", "fbsd1,web01", "--json", "-i", EXAMPLE)
    assert code == 0
    document = json.loads(out)
    assert document["format_version"] == 1
    fbsd1, web01 = document["hosts"]
    assert (fbsd1["name"], fbsd1["os"], web01["name"]) == ("fbsd1", "freebsd", "web01")
    (rc_conf,) = fbsd1["files"]
    assert {k: rc_conf[k] for k in ("path", "mode", "owner", "group", "managed")} == {
        "path": "/etc/rc.conf",
        "mode": "0644",
        "owner": "root",
        "group": "wheel",
        "managed": "keys",
    }
    assert 'defaultrouter="198.51.100.1"\n' in rc_conf["content"]
    assert fbsd1["commands"] == [
        ["ifconfig", "vtnet0", "inet6", "-accept_rtadv"],
        ["service", "netif", "restart", "vtnet0"],
        ["service", "routing", "restart"],
        ["hostname", "fbsd1.example.org"],
    ]
    assert web01["files"][0]["content"].endswith(
        "inet 203.0.113.21 "
        "255.255.255.255\n!route -qn add -inet "
        "198.51.100.1 -cloning -link -iface $if\n"
    )


def test_render_unknown_host_suggests_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "render", "--host", "web1", "-i", EXAMPLE)
    assert code == ExitCode.USAGE and out == ""
    assert err == f"{EXAMPLE}: no host 'web1'; did you mean 'web01'?\n"


def test_render_without_os_explains(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("hosts:\n  box: {interfaces: {em0: {dhcp: true}}}\n")
    code, _, err = run(capsys, "render", "-i", str(inventory))
    assert code == ExitCode.FAILED
    assert err.startswith("host 'box': no 'os' in the inventory; offline rendering needs one")


def test_internal_errors_are_one_line_without_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("bsdprov.tasks.check_summary", broken)
    code, _, err = run(capsys, "check", "-i", EXAMPLE)
    assert code == ExitCode.FAILED
    assert err.startswith("internal error: KeyError: 'boom'; the traceback is in ")
    assert "Traceback" not in err


def test_console_command_and_tasks_py_expose_the_same_tasks() -> None:
    command = subprocess.run(
        [sys.executable, "-m", "bsdprov", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    invoke = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for name in ("check", "render"):
        assert f"  {name} " in command and f"  {name} " in invoke
    assert "dev.check" in invoke and "dev." not in command


def test_console_command_renders_from_a_clean_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bsdprov", "render", "--host", "nbsd1", "-i", EXAMPLE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "!/sbin/route -q add -host 198.51.100.1 -iface 203.0.113.11" in result.stdout
