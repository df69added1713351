"""Error tree and exit codes shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    ROLLED_BACK = 4
    CHANGES_PENDING = 5


class BsdprovError(Exception):
    """Base of every error bsdprov reports to a user (never a traceback)."""

    exit_code: ExitCode = ExitCode.FAILED


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input: where it is and what is wrong."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InventoryError(BsdprovError):
    """The inventory is invalid; carries every problem found in one pass."""

    exit_code = ExitCode.USAGE

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RenderError(BsdprovError):
    """A host cannot be rendered (e.g. a file on the host cannot be edited safely)."""


class ProbeError(BsdprovError):
    """A host's answer to the facts probe cannot be used (unsupported OS, cut short, ...)."""


class ApplyError(BsdprovError):
    """A deploy or rollback could not be carried out as asked."""


class UsageError(BsdprovError):
    """A task was called with arguments that do not fit."""

    exit_code = ExitCode.USAGE
