"""The seam between bsdprov and a host: what a remote script returns, and who may run one.

Paramiko-free on purpose: planning, applying and their tests import this, never the SSH code
(``bsdprov.ssh``), so a plan over a fake transport, and the start of every command that does not
connect, costs no paramiko import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bsdprov.errors import RemoteCommandError

# What every script runs under on the host: the script comes on stdin, because the login shell
# that runs the command string may be csh (root on FreeBSD <= 13).
SHELL = "/bin/sh -s"


def decode(data: bytes) -> str:
    """Bytes from a host as text that encodes back to the same bytes (``surrogateescape``)."""
    return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a remote script produced, byte for byte."""

    stdout: bytes
    stderr: bytes
    exit_code: int

    @property
    def stdout_text(self) -> str:
        """``stdout`` decoded so that ``.encode("utf-8", "surrogateescape")`` gives it back."""
        return decode(self.stdout)

    @property
    def stderr_text(self) -> str:
        return decode(self.stderr)


class Reader(Protocol):
    """Read-only access to a host: run probe scripts. Planning, verify and history get only this."""

    def run_script(
        self, script: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult: ...


class Transport(Reader, Protocol):
    """Read and write access to a host: what applying a run gets."""

    def put_files(self, files: Mapping[str, bytes], directory: str, mode: int = 0o600) -> None: ...

    def home(self) -> str: ...

    def close(self) -> None: ...


def result_error(result: CommandResult, *, host: str, where: str, what: str) -> RemoteCommandError:
    """The error for a script that exited non-zero (shared by every ``Transport``)."""
    return RemoteCommandError(
        f"{where}: {what!r} exited with status {result.exit_code}",
        host=host,
        what=what,
        status=result.exit_code,
        stderr=result.stderr_text,
    )
