"""The real ``bsdprov`` command as the lab tests run it: a fresh interpreter, no terminal, so a
deploy or rollback gets ``--yes`` (see ``confirmed``)."""

from __future__ import annotations

import subprocess
import sys

from tests.confirmed import confirmed


def bsdprov(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bsdprov", *confirmed(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The command's output; it must have succeeded."""
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
