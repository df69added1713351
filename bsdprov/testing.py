"""Test doubles for the transport seam (as ``fabric.testing`` and ``invoke.MockContext``).

``FakeTransport`` satisfies ``Transport`` (and so ``Reader``) without any network: it records
every script and upload and answers with canned results, so higher layers can be unit-tested for
the exact command sequence they send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bsdprov.errors import RemoteCommandError
from bsdprov.session import SHELL, CommandResult, result_error

Answer = CommandResult | BaseException


def answer(stdout: str = "", stderr: str = "", exit_code: int = 0) -> CommandResult:
    """A canned ``CommandResult`` from text (encoded as a host's bytes would be)."""
    return CommandResult(
        stdout.encode("utf-8", "surrogateescape"),
        stderr.encode("utf-8", "surrogateescape"),
        exit_code,
    )


@dataclass(frozen=True, slots=True)
class Upload:
    """One ``put_files`` call as the fake saw it."""

    directory: str
    files: Mapping[str, bytes]
    mode: int


class FakeTransport:
    """A ``Transport`` that records scripts and uploads and returns canned answers.

    Answers come from ``results`` in order (a ``BaseException`` there is raised instead), then
    from ``respond(script)`` if given; running out of both fails the test with ``AssertionError``.
    ``check`` behaves as in ``SSHTransport``: a non-zero ``exit_code`` raises
    ``RemoteCommandError``.
    """

    def __init__(
        self,
        results: Iterable[Answer] = (),
        *,
        respond: Callable[[str], Answer] | None = None,
        host: str = "fake",
        home: str = "/home/bsdprov",
    ) -> None:
        self.host_name = host
        self.where = f"host {host!r} (fake)"
        self._results = list(results)
        self._respond = respond
        self._home = home
        self.scripts: list[str] = []
        self.timeouts: list[float | None] = []
        self.uploads: list[Upload] = []
        self.channels_opened = 0
        self.closed = False

    def _answer(self, script: str) -> Answer:
        if self._results:
            return self._results.pop(0)
        if self._respond is not None:
            return self._respond(script)
        raise AssertionError(f"FakeTransport has no answer left for script #{len(self.scripts)}")

    def run_script(
        self, script: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        if self.closed:
            raise AssertionError("run_script() on a closed FakeTransport")
        self.scripts.append(script)
        self.timeouts.append(timeout)
        self.channels_opened += 1
        answer = self._answer(script)
        if isinstance(answer, BaseException):
            raise answer
        if check and answer.exit_code != 0:
            raise result_error(answer, host=self.host_name, where=self.where, what=SHELL)
        return answer

    def put_files(self, files: Mapping[str, bytes], directory: str, mode: int = 0o600) -> None:
        if self.closed:
            raise AssertionError("put_files() on a closed FakeTransport")
        self.uploads.append(Upload(directory, dict(files), mode))

    def home(self) -> str:
        return self._home

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeClock:
    """A ``Clock`` whose time moves only when the code under test sleeps: waits cost nothing
    and every deadline is reached in a known number of steps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def timed_out(host: str = "fake") -> RemoteCommandError:
    """The error ``SSHTransport.run_script`` raises on a timeout, for canned answers."""
    return RemoteCommandError(
        f"host {host!r} (fake): {SHELL!r} did not finish in time",
        host=host,
        what=SHELL,
        status=None,
    )
