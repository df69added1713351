"""The ``bsdprov`` command's own surface: only bsdprov's options, Invoke's core flags refused
(``bsdprov --dry deploy`` must never deploy), ``--version``, and a start that imports only what
the command needs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bsdprov import __version__, api
from bsdprov.cli import main
from bsdprov.errors import ExitCode
from tests.test_tasks import EXAMPLE, ROOT, run

# Invoke's core flags: they steer c.run(), which no bsdprov task uses.
INVOKE_FLAGS = (
    "--pty",
    "--warn-only",
    "--dry",
    "--echo",
    "--prompt-for-sudo-password",
    "--hide",
    "--config",
    "--command-timeout",
    "--write-pyc",
    "--list-format",
    "--debug",
)


def test_help_lists_bsdprov_commands_and_no_invoke_flags(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == ExitCode.OK
    assert out.startswith("Usage: bsdprov [--help | --version] COMMAND [OPTIONS]\n")
    for command in ("check", "render", "plan", "deploy", "rollback", "history", "verify"):
        assert f"\n  {command} " in out
    for flag in INVOKE_FLAGS:
        assert flag not in out
    assert "core" not in out.lower()


@pytest.mark.parametrize("flag", INVOKE_FLAGS)
@pytest.mark.parametrize("where", ["before", "after"])
def test_an_invoke_flag_is_refused_and_nothing_is_deployed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, flag: str, where: str
) -> None:
    def never(*args: object) -> object:
        raise AssertionError("a host was contacted")

    monkeypatch.setattr(api, "ssh_connector", never)
    monkeypatch.setattr(api, "deploy", never)
    task = ["deploy", "--host", "obsd1", "-i", EXAMPLE]
    argv = [flag, *task] if where == "before" else [*task, flag]
    code, out, err = run(capsys, *argv)
    assert (code, out) == (ExitCode.USAGE, "")
    # Refused by name; a bsdprov option of a close spelling may be suggested (--config:
    # --ssh-config), never taken for it.
    assert err.startswith(f"bsdprov: no option {flag!r}") or err.startswith(
        f"bsdprov: no option or command {flag!r}; 'bsdprov --help' lists them"
    )


def test_a_command_help_names_only_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", "--help")
    assert code == ExitCode.OK
    assert out.startswith("Usage: bsdprov plan [OPTIONS]\n")
    assert "--detailed-exitcode" in out and "other tasks" not in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == ExitCode.USAGE and "Commands:" in out
    assert err == "bsdprov: name a command\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--version"])
    assert capsys.readouterr().out == f"bsdprov {__version__}\n"
    assert run(capsys, "-V") == (0, f"bsdprov {__version__}\n", "")


def _loaded_modules(*argv: str) -> set[str]:
    """The modules a fresh interpreter has loaded after ``bsdprov ARGV``: top-level names, and
    bsdprov's own in full."""
    child = (
        "import sys\n"
        "from bsdprov.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = sorted({m if m.startswith('bsdprov') else m.split('.')[0] for m in sys.modules})\n"
        "sys.stderr.write('\\nLOADED ' + ' '.join(names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    return set(done.stderr.rpartition("\nLOADED ")[2].split())


@pytest.mark.parametrize(
    "argv",
    [
        ("--help",),
        ("--version",),
        ("check", "-i", EXAMPLE),
        ("render", "--host", "obsd1", "-i", EXAMPLE),
        ("plan", "--help"),
    ],
    ids=lambda argv: argv[0],
)
def test_offline_commands_never_import_the_ssh_stack(argv: tuple[str, ...]) -> None:
    loaded = _loaded_modules(*argv)
    assert "bsdprov" in loaded
    assert not loaded & {"paramiko", "fabric", "cryptography", "nacl", "bsdprov.ssh.transport"}
    assert "bsdprov.lab.manager" not in loaded, "the lab loads only for the lab's tasks"


def test_version_imports_neither_invoke_nor_the_model() -> None:
    loaded = _loaded_modules("--version")
    assert not loaded & {"invoke", "pydantic", "yaml"}


def test_the_api_imports_no_ssh_module() -> None:
    child = "import sys, bsdprov.api; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True)
    loaded = {m.split(".")[0] for m in done.stdout.split()}
    assert not loaded & {"paramiko", "fabric", "invoke"}


def test_invoke_with_the_repository_tasks_still_offers_bsdprov_and_dev_tasks() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    for name in ("check", "render", "plan", "deploy", "demo", "dev.check", "lab.up"):
        assert f"  {name} " in listed or f"  {name}\n" in listed
