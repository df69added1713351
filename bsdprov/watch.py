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

from bsdprov.errors import TransportError
from bsdprov.model import Host
from bsdprov.outcome import Outcome
from bsdprov.run import RUN_ID_RE, RunState, parse_start
from bsdprov.session import CommandResult, Transport

Connector = Callable[[Host], Transport]

STARTED = "started"  # the run's txn.sh start was sent: the host carries on by itself from here
# The host ran its checks and activation and armed its dead-man timer: it rolls the run back
# unless a new SSH login confirms it (the start script's reply said state=awaiting-confirm).
AWAITING = "awaiting confirmation"


@dataclass(frozen=True, slots=True)
class HostWatch:
    """One host's latest stage; ``run_id`` and ``started_at`` once its run's start was sent."""

    host: str
    stage: str = "waiting"
    since: float = 0.0  # monotonic, when the stage began
    run_id: str | None = None
    started_at: datetime.datetime | None = None  # this machine's clock, UTC
    outcome: Outcome | None = None
    began: float | None = None  # monotonic, when the host's first stage began
    confirm_by: float | None = None  # monotonic, when the host's timer ends (as seen from here)
    verdict: str = ""  # a read-only task's word for the result ("passed"), else the status


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
    confirm_timeout: int | None = None  # the hosts' dead-man timer, None: no timer
    hosts: dict[str, HostWatch] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                self.hosts.setdefault(name, HostWatch(name, since=self.clock()))

    def reset(self, names: list[str]) -> None:
        """A new phase (the deploy after its plan): every host waiting again."""
        with self._lock:
            self.hosts.clear()
        self.expect(names)

    def stage(self, host: str, stage: str, run_id: str | None = None) -> None:
        with self._lock:
            old = self.hosts.get(host, HostWatch(host))
            if old.outcome is not None:
                return
            if stage == "connecting" and old.stage == AWAITING:
                return  # a new login to confirm the run: the host's timer still counts down
            now = self.clock()
            new = replace(old, stage=stage, since=now)
            if new.began is None:
                new = replace(new, began=now)
            if stage == AWAITING:
                timer = self.confirm_timeout
                new = replace(new, confirm_by=None if timer is None else now + timer)
            if stage == STARTED and run_id and old.run_id != run_id:
                new = replace(new, run_id=run_id, started_at=self.now())
            self.hosts[host] = new
        if self.on_change is not None:
            self.on_change(new)

    def finished(self, outcome: Outcome, verdict: str = "") -> None:
        with self._lock:
            old = self.hosts.get(outcome.host, HostWatch(outcome.host))
            new = replace(old, stage="done", since=self.clock(), outcome=outcome, verdict=verdict)
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
        try:
            result = self._inner.run_script(script, timeout=timeout, check=check)
        except TransportError:
            if stage == STARTED:
                # The change may have cut this very session: deploy now waits for a new login
                # to confirm, while the host's timer (if armed) counts.
                self._watch.stage(self._host, AWAITING)
            raise
        if stage == STARTED and parse_start(result.stdout_text).state == RunState.AWAITING_CONFIRM:
            self._watch.stage(self._host, AWAITING)
        return result

    def put_files(self, files: Mapping[str, bytes], directory: str, mode: int = 0o600) -> None:
        self._watch.stage(self._host, "uploading")
        self._inner.put_files(files, directory, mode)

    def home(self) -> str:
        return self._inner.home()

    def close(self) -> None:
        self._inner.close()
