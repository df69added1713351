"""lib/rc-apply and lib/pf-anchor under several POSIX shells, with fake rcctl/vmctl/pfctl.

What a user relies on: the same activation step brings a daemon or an anchor to what the
installed files say, so a rollback that restores the old files undoes it (a daemon the old
rc.conf.local does not enable is stopped; an anchor whose file is gone is flushed).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.onhost.harness import REMOTE, SHELLS

pytestmark = pytest.mark.onhost

# Each fake logs its argv; rcctl answers from $ENABLED and $RUNNING (space-separated names).
FAKES = {
    "rcctl": """#!/bin/sh
echo "rcctl $*" >>"$CALLS"
case $1 in
get) case " $ENABLED " in *" $2 "*) exit 0 ;; esac; exit 1 ;;
check) case " $RUNNING " in *" $2 "*) echo "$2(ok)"; exit 0 ;; esac; echo "$2(failed)"; exit 1 ;;
esac
echo "$2(ok)"
""",
    "vmctl": '#!/bin/sh\necho "vmctl $*" >>"$CALLS"\n',
    "pfctl": '#!/bin/sh\necho "pfctl $*" >>"$CALLS"\n',
}
Run = Callable[..., list[str]]


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in FAKES.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    root = tmp_path / "root"
    (root / "etc/pf.vm").mkdir(parents=True)
    calls = tmp_path / "calls"

    def run(script: str, *args: str, enabled: str = "", running: str = "") -> list[str]:
        calls.write_text("")
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "BSDPROV_ROOT": str(root),
            "CALLS": str(calls),
            "ENABLED": enabled,
            "RUNNING": running,
        }
        proc = subprocess.run(
            [*request.param, str(REMOTE / "lib" / script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        return [line for line in calls.read_text().splitlines() if not line.startswith("rcctl get")]

    run.root = root  # type: ignore[attr-defined]
    return run


def test_an_enabled_daemon_is_restarted_and_a_disabled_one_stopped(run: Run) -> None:
    assert run("rc-apply", "restart", "dhcpd", enabled="dhcpd vmd") == ["rcctl restart dhcpd"]
    assert run("rc-apply", "restart", "dhcpd", enabled="vmd") == ["rcctl stop dhcpd"]


def test_vmd_is_reloaded_while_it_runs_started_when_not_and_stopped_when_disabled(
    run: Run,
) -> None:
    assert run("rc-apply", "vmd", enabled="vmd", running="vmd") == [
        "rcctl check vmd",
        "vmctl reload",
    ]
    assert run("rc-apply", "vmd", enabled="vmd") == ["rcctl check vmd", "rcctl start vmd"]
    assert run("rc-apply", "vmd", running="vmd") == ["rcctl stop vmd"]


def test_an_anchor_follows_its_file(run: Run) -> None:
    anchor = run.root / "etc/pf.vm/web01.conf"  # type: ignore[attr-defined]
    anchor.write_text("pass out quick on web01_vm\n")
    assert run("pf-anchor", "vm/web01", "/etc/pf.vm/web01.conf") == [
        "pfctl -a vm/web01 -f /etc/pf.vm/web01.conf"
    ]
    anchor.unlink()
    assert run("pf-anchor", "vm/web01", "/etc/pf.vm/web01.conf") == ["pfctl -a vm/web01 -F rules"]


@pytest.mark.parametrize("script", ["rc-apply", "pf-anchor"])
def test_bad_arguments_are_refused(script: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        ["sh", str(REMOTE / "lib" / script), "frobnicate"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.startswith("usage: sh ")
