"""Error tree and exit codes shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Literal


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


ConnectCause = Literal["dns", "refused", "timeout", "auth", "host-key", "other"]
CONNECT_CAUSES: tuple[ConnectCause, ...] = (
    "dns",
    "refused",
    "timeout",
    "auth",
    "host-key",
    "other",
)


class TransportError(BsdprovError):
    """Talking to a host over SSH failed (reading or writing a file, a lost connection)."""

    def __init__(self, message: str, *, host: str) -> None:
        self.host = host
        super().__init__(message)


class ConnectError(TransportError):
    """A host could not be reached or authenticated; ``cause`` says why, for fleet reports."""

    exit_code = ExitCode.UNREACHABLE

    def __init__(self, message: str, *, host: str, cause: ConnectCause) -> None:
        self.cause = cause
        super().__init__(message, host=host)


class RemoteCommandError(TransportError):
    """A remote command failed, timed out or never started (as Invoke's ``UnexpectedExit``).

    ``status`` is the remote exit status, None when there is none (timeout, lost connection,
    killed by a signal). ``stderr_tail`` holds the last ten non-empty lines of its stderr, which
    ``str()`` shows indented under the message.
    """

    def __init__(
        self, message: str, *, host: str, what: str, status: int | None, stderr: str = ""
    ) -> None:
        self.message = message
        self.what = what
        self.status = status
        self.stderr = stderr
        self.stderr_tail = tuple(line for line in stderr.splitlines() if line.strip())[-10:]
        super().__init__(message, host=host)

    def __str__(self) -> str:
        if not self.stderr_tail:
            return self.message
        return "\n".join([self.message, *("  " + line for line in self.stderr_tail)])
