"""What a plan, deploy or rollback did on one host: plain values for reports and exit codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bsdprov.errors import BsdprovError
from bsdprov.plan import Plan
from bsdprov.verify import CheckResult

Status = Literal[
    "unchanged", "changes", "changed", "failed", "rolled-back", "unreachable", "skipped"
]
"""``skipped``: not started because a rollout stopped (``--max-fail``) or its hypervisor failed;
the host was not touched."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened on one host, for the report and the exit code."""

    host: str
    status: Status
    reason: str = ""
    plan: Plan | None = None
    run_id: str | None = None
    warnings: tuple[str, ...] = ()
    journal: str = ""


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    state: str
    started: str
    user: str
    kind: str
    targets: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class HostRuns:
    """``history`` of one host: its runs, oldest first, or the error that kept it from answering."""

    host: str
    runs: tuple[RunRecord, ...] | None
    error: BsdprovError | None = None


@dataclass(frozen=True, slots=True)
class HostChecks:
    """``verify`` of one host: each check's result, or the error that kept it from answering."""

    host: str
    results: tuple[CheckResult, ...] | None
    error: BsdprovError | None = None

    @property
    def passed(self) -> bool:
        return self.results is not None and all(r.passed for r in self.results)
