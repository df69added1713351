"""``verify``: run a host's verify checks read-only and report each with its evidence.

The script and the parsing are pure; ``verify_one`` in apply runs them. Patterns are matched
line by line as ``grep -E`` does inside the on-host transaction.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from bsdprov.errors import ProbeError
from bsdprov.render.base import Check

MARK = "BSDPROV-VERIFY"


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: Check
    passed: bool
    evidence: str  # the matching line, or the output's last lines when nothing matched


def verify_script(checks: Iterable[Check]) -> str:
    """Run each command once, printing a marker line, its output and its exit status."""
    lines = ["PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin", "export PATH"]
    for n, check in enumerate(checks):
        lines.append(f"echo '{MARK} {n}'")
        lines.append(f"{shlex.join(check.argv)} 2>&1 </dev/null")
        lines.append(f"echo '{MARK}-RC' $?")
    return "\n".join(lines) + "\n"


def parse_verify(output: str, checks: tuple[Check, ...], host: str) -> tuple[CheckResult, ...]:
    blocks: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        number = line[len(MARK) + 1 :]
        if line.startswith(f"{MARK} ") and number.isdecimal() and number.isascii():
            current = blocks.setdefault(int(number), [])
        elif line.startswith(f"{MARK}-RC ") or current is None:
            current = None
        else:
            current.append(line)
    if sorted(blocks) != list(range(len(checks))):
        raise ProbeError(f"host {host!r}: the verify output was cut short")
    results = []
    for n, check in enumerate(checks):
        pattern = re.compile(check.expect)
        lines = blocks[n]
        match = next((line for line in lines if pattern.search(line)), None)
        evidence = match if match is not None else " | ".join(lines[-3:]) or "(no output)"
        results.append(CheckResult(check, match is not None, evidence.strip()))
    return tuple(results)
