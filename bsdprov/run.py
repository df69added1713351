"""Turn a plan into the run directory the on-host transaction (``remote/txn.sh``) executes.

Pure: the run id, the user and the settings come in as arguments; the result maps each
relative path of the run directory to its bytes.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from bsdprov.plan import Plan
from bsdprov.render.base import Step

REMOTE = resources.files("bsdprov") / "remote"

# The form every run id is made in (tasks._run_id): UTC time, then six hex digits. An id given
# by a user (rollback --run) or read from a host must have it before it names a directory.
RUN_ID_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}")


@dataclass(frozen=True, slots=True)
class RunSettings:
    run_id: str
    user: str
    kind: str = "deploy"
    confirm_timeout: int = 120
    step_timeout: int = 120


def posix_cksum(data: bytes) -> str:
    """``CRC:SIZE`` as POSIX ``cksum`` computes it: how txn.sh fingerprints a file."""
    crc = 0

    def feed(byte: int) -> None:
        nonlocal crc
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF

    for byte in data:
        feed(byte)
    length = len(data)
    while length:
        feed(length & 0xFF)
        length >>= 8
    return f"{~crc & 0xFFFFFFFF}:{len(data)}"


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def fingerprint(content: str | None) -> str:
    return "absent" if content is None else posix_cksum(encode(content))


def step_lines(steps: Iterable[Step]) -> bytes:
    """One shell-quoted command per line; a leading ``- `` marks one that may fail."""
    return "".join(f"{'- ' if s.may_fail else ''}{shlex.join(s.argv)}\n" for s in steps).encode()


def build_run(plan: Plan, settings: RunSettings) -> dict[str, bytes]:
    """The files of one run: manifest, new contents, checks, steps, verify, the rollback's
    checks and steps, settings, tools."""
    run: dict[str, bytes] = {}
    manifest = []
    for n, change in enumerate(plan.changes, start=1):
        before = fingerprint(change.before.content)
        if change.after is None:
            manifest.append(f"remove - - - - {before} {change.path}\n")
            continue
        name = str(n)
        run[f"files/{name}"] = encode(change.after)
        manifest.append(
            f"put {name} {change.mode:o} {change.owner} {change.group} {before} {change.path}\n"
        )
    run["manifest"] = "".join(manifest).encode()
    run["prepare"] = "".join(f"{shlex.join(step.argv)}\n" for step in plan.prepare).encode()
    run["checks"] = "".join(f"{shlex.join(step.argv)}\n" for step in plan.checks).encode()
    run["steps"] = step_lines(plan.steps)
    # The rollback's own, planned from the files it restores (rollback.py): txn.sh runs these
    # when this run is rolled back, by itself or by 'bsdprov rollback'.
    run["undo-checks"] = "".join(f"{shlex.join(s.argv)}\n" for s in plan.undo_checks).encode()
    run["undo-steps"] = step_lines(plan.undo_steps)
    run["verify"] = "".join(
        f"{shlex.join((check.expect, *check.argv))}\n" for check in plan.verify
    ).encode()
    run["settings"] = (
        f"confirm_timeout={settings.confirm_timeout}\nstep_timeout={settings.step_timeout}\n"
        f"user={settings.user}\nkind={settings.kind}\n"
    ).encode()
    run["txn.sh"] = (REMOTE / "txn.sh").read_bytes()
    for tool in (REMOTE / "lib").iterdir():
        run[f"lib/{tool.name}"] = tool.read_bytes()
    return run
