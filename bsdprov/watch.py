"""What each host is doing while a fleet task runs, seen from the sessions the task opens.

The command wraps the api's ``connect`` so that every session reports what it is asked to do:
connecting, probing, uploading, the run's start (with its id and when it was sent), confirming.
A Ctrl-C reads this to say, at once, per host, which run was where and what the host will do by
itself; a progress display reads it for each host's current stage. The api itself is unchanged:
this is the ``connect`` seam, used as the api offers it.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from bsdprov.model import Host
from bsdprov.outcome import Outcome
from bsdprov.run import RUN_ID_RE
from bsdprov.session import CommandResult, Transport

Connector = Callable[[Host], Transport]

STARTED = "started"  # the run's txn.sh start was sent: the host carries on by itself from here


@dataclass(frozen=True, slots=True)
class HostWatch:
    """One host's latest stage; ``run_id`` and ``started_at`` once its run's start was sent."""

    host: str
    stage: str = "waiting"
    since: float = 0.0  # monotonic, when the stage began
    run_id: str | None = None
    started_at: datetime.datetime | None = None  # this machine's clock, UTC
    outcome: Outcome | None = None


def _stage_of(script: str) -> str | None:
    if "txn.sh start" in script:
        return STARTED
    if "txn.sh confirm" in script:
        return "confirming"
    if "txn.sh wait" in script or "txn.sh rollback" in script:
        return "waiting for the host"
    if "BSDPROV-PROBE" in script:
        return "probing"
    if "BSDPROV-VERIFY" in script:
        return "checking"
    if "txn.sh history" in script:
        return "reading history"
    return None


@dataclass
class Watch:
    """Every host's stage, updated from the worker threads, read from the main one."""

    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC)
    on_change: Callable[[HostWatch], None] | None = None
    hosts: dict[str, HostWatch] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self.hosts.setdefault(name, HostWatch(name, since=self.clock()))

    def stage(self, host: str, stage: str, run_id: str | None = None) -> None:
        with self._lock:
            old = self.hosts.get(host, HostWatch(host))
            if old.outcome is not None:
                return
            new = replace(old, stage=stage, since=self.clock())
            if stage == STARTED and run_id and old.run_id != run_id:
                new = replace(new, run_id=run_id, started_at=self.now())
            self.hosts[host] = new
        if self.on_change is not None:
            self.on_change(new)

    def finished(self, outcome: Outcome) -> None:
        with self._lock:
            old = self.hosts.get(outcome.host, HostWatch(outcome.host))
            new = replace(old, stage="done", since=self.clock(), outcome=outcome)
            if outcome.run_id and not old.run_id:
                new = replace(new, run_id=outcome.run_id)
            self.hosts[outcome.host] = new
        if self.on_change is not None:
            self.on_change(new)

    def snapshot(self) -> Mapping[str, HostWatch]:
        with self._lock:
            return dict(self.hosts)

    def wrap(self, connect: Connector) -> Connector:
        def watched(host: Host) -> Transport:
            self.stage(host.name, "connecting")
            return _Watched(connect(host), host.name, self)

        return watched


class _Watched:
    """A ``Transport`` that tells the watch what each script is for, then runs it."""

    def __init__(self, inner: Transport, host: str, watch: Watch) -> None:
        self._inner = inner
        self._host = host
        self._watch = watch

    def run_script(
        self, script: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        stage = _stage_of(script)
        if stage is not None:
            found = RUN_ID_RE.search(script) if stage == STARTED else None
            self._watch.stage(self._host, stage, found.group(0) if found else None)
        return self._inner.run_script(script, timeout=timeout, check=check)

    def put_files(self, files: Mapping[str, bytes], directory: str, mode: int = 0o600) -> None:
        self._watch.stage(self._host, "uploading")
        self._inner.put_files(files, directory, mode)

    def home(self) -> str:
        return self._inner.home()

    def close(self) -> None:
        self._inner.close()
