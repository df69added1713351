"""lib/sysctl-apply under several POSIX shells, with a fake ``sysctl`` first on PATH.

What a user relies on: the running value follows the installed /etc/sysctl.conf (so a rollback
that restores the old file puts the old value back), the default applies when the file says
nothing, and a failing sysctl is reported by name and fails the step.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.onhost.harness import REMOTE, SHELLS

pytestmark = pytest.mark.onhost

Run = Callable[..., tuple[int, str, str, list[str]]]
SCRIPT = REMOTE / "lib" / "sysctl-apply"
# Records each call; refuses names listed in $SYSCTL_FAIL.
FAKE_SYSCTL = """\
#!/bin/sh
echo "$*" >>"$SYSCTL_LOG"
case " ${SYSCTL_FAIL:-} " in *" ${1%%=*} "*)
	echo "sysctl: ${1%%=*}: Invalid argument" >&2
	exit 1
esac
echo "${1%%=*}: 0 -> ${1#*=}"
"""


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    shell = request.param
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sysctl").write_text(FAKE_SYSCTL)
    (bin_dir / "sysctl").chmod(0o755)
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    log = tmp_path / "sysctl.log"

    def run(*args: str, conf: str | None = None, fail: str = "") -> tuple[int, str, str, list[str]]:
        if conf is not None:
            (root / "etc/sysctl.conf").write_text(conf)
        log.write_text("")
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "BSDPROV_ROOT": str(root),
            "SYSCTL_LOG": str(log),
            "SYSCTL_FAIL": fail,
        }
        proc = subprocess.run(
            [*shell, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30
        )
        return proc.returncode, proc.stdout, proc.stderr, log.read_text().splitlines()

    return run


def test_the_last_line_of_the_file_wins(run: Run) -> None:
    conf = (
        "# forwarding\n"
        "net.inet.ip.forwarding=0\n"
        "  net.inet.ip.forwarding=1   # for the VMs\n"
        "#net.inet.ip.forwarding=0\n"
        "net.inet.ip.forwarding.extra=7\n"
        "net.inet6.ip6.forwarding=1"  # no final newline
    )
    rc, out, err, calls = run("net.inet.ip.forwarding=0", "net.inet6.ip6.forwarding=0", conf=conf)
    assert (rc, err) == (0, "")
    assert calls == ["net.inet.ip.forwarding=1", "net.inet6.ip6.forwarding=1"]
    assert out == "net.inet.ip.forwarding: 0 -> 1\nnet.inet6.ip6.forwarding: 0 -> 1\n"


def test_the_default_applies_without_a_line_or_a_file(run: Run) -> None:
    rc, _, _, calls = run("net.inet.ip.forwarding=0", conf="kern.maxfiles=1000\n")
    assert (rc, calls) == (0, ["net.inet.ip.forwarding=0"])
    # A rollback that removes a file bsdprov created puts the default back.
    rc, _, _, calls = run("-f", "/etc/nosuch.conf", "net.inet.ip.forwarding=0")
    assert (rc, calls) == (0, ["net.inet.ip.forwarding=0"])


def test_a_failing_sysctl_is_named_and_fails_the_step(run: Run) -> None:
    rc, _, err, calls = run(
        "net.inet.ip.forwarding=0",
        "net.inet6.ip6.forwarding=0",
        conf="net.inet.ip.forwarding=1\n",
        fail="net.inet.ip.forwarding",
    )
    assert rc == 1
    assert err == (
        "sysctl: net.inet.ip.forwarding: Invalid argument\n"
        "sysctl-apply: could not set net.inet.ip.forwarding=1\n"
    )
    assert calls == ["net.inet.ip.forwarding=1", "net.inet6.ip6.forwarding=0"]


@pytest.mark.parametrize("args", [[], ["net.inet.ip.forwarding"], ["=1"], ["a b=1"], ["-x", "a=1"]])
def test_bad_arguments_are_a_usage_error(run: Run, args: list[str]) -> None:
    rc, _, err, calls = run(*args)
    assert (rc, calls) == (2, [])
    assert err == "usage: sh sysctl-apply [-f FILE] NAME=DEFAULT...\n"


def test_it_is_shellcheck_clean() -> None:
    proc = subprocess.run(["shellcheck", "-s", "sh", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
