"""Ctrl-C during a task: say at once, per host, where its run was and what the host will do by
itself, then exit 130 without waiting for the hosts.

Waiting would be wrong twice over: an SSH call can hang for minutes, and the host does not need
the controller. A run whose start was sent goes on by itself on the host (nohup), and its
dead-man timer rolls it back unless a new SSH login confirms it; a run not started changed
nothing. So the command stops at once (``os._exit``: the worker threads are blocked in SSH calls
and must not be joined) and tells the user which of the two each host is in.
"""

from __future__ import annotations

import datetime
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from bsdprov.watch import STARTED, HostWatch, Watch

INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C ended
CTRL_C = "interrupted (Ctrl-C)"
# A SIGTERM (kill, timeout(1), a service manager stopping the job) ends a deploy as abruptly as
# Ctrl-C and leaves the hosts in the same states: it says the same, and exits 128 + 15.
HOW = {signal.SIGINT: CTRL_C, signal.SIGTERM: "terminated (SIGTERM)"}


def _clock(moment: datetime.datetime) -> str:
    return f"{moment:%H:%M:%S} UTC"


def what_happens(watched: HostWatch, confirm_timeout: int | None, read_only: bool = False) -> str:
    """One host's line: its run, the state it was in, and what the host does by itself.
    ``confirm_timeout`` is the host's timer (None: no timer, --no-confirm)."""
    name = watched.host
    if watched.outcome is not None:
        run = f" (run {watched.outcome.run_id})" if watched.outcome.run_id else ""
        return f"{name}: already finished: {watched.outcome.status}{run}"
    if read_only or watched.run_id is None:
        doing = "" if watched.stage == "waiting" else f" (was {watched.stage})"
        why = "read-only" if read_only else "its run had not started"
        return f"{name}: nothing was changed{doing}: {why}"
    was = "starting" if watched.stage == STARTED else watched.stage
    head = f"{name}: run {watched.run_id} was {was}"
    if confirm_timeout is None:
        return (
            f"{head}; no timer was armed (--no-confirm): the host finishes the run by itself "
            "and keeps what it ends with (rolled back only if a step or check fails)"
        )
    sent = watched.started_at
    if sent is None:  # cannot happen for a started run; said plainly rather than guessed
        when = f"{confirm_timeout} s after it arms it"
    else:
        earliest = sent + datetime.timedelta(seconds=confirm_timeout)
        when = (
            f"at {_clock(earliest)} at the earliest ({confirm_timeout} s after the timer is "
            f"armed; the start was sent at {_clock(sent)} by this machine's clock, and the host "
            "arms the timer after its checks, so a little later)"
        )
    maybe = " (it may already be confirmed)" if watched.stage == "confirming" else ""
    return f"{head}{maybe}; unless confirmed, the host's timer rolls it back {when}"


def interrupted_text(
    watch: Watch, confirm_timeout: int | None, read_only: bool = False, how: str = CTRL_C
) -> str:
    """What Ctrl-C (or a SIGTERM: ``how``) prints: a line per host, then where to look next."""
    lines = [f"{how}: bsdprov stopped; each host:"]
    hosts = watch.snapshot().values()
    lines += [f"  {what_happens(h, confirm_timeout, read_only)}" for h in hosts]
    if any(h.run_id and h.outcome is None for h in hosts) and not read_only:
        lines.append(
            "'bsdprov history --host HOST' shows how each run ended; 'bsdprov log' its journal"
        )
    return "\n".join(lines) + "\n"


def _exit_now(code: int) -> None:
    os._exit(code)


@contextmanager
def interruptible(text: Callable[[str], str]) -> Iterator[None]:
    """While the block runs, Ctrl-C (or SIGTERM) prints ``text(how)`` on stderr and exits 130
    (143) at once; ``how`` names the signal ("interrupted (Ctrl-C)")."""

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        try:
            # The handler runs in the main thread, which may be inside a write to stdout (a
            # host's plan, to a slow terminal): flushing then raises "reentrant call", and the
            # summary, the one thing Ctrl-C must print, was lost.
            with suppress(Exception):
                sys.stdout.flush()
            summary = "\n" + text(HOW.get(signal.Signals(signum), CTRL_C))
            try:
                sys.stderr.write(summary)
                sys.stderr.flush()
            except RuntimeError:  # stderr itself was being written: past its buffer
                os.write(2, summary.encode(errors="replace"))
        finally:
            _exit_now(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # signals go to the main thread only; a library caller keeps its own handling
        return
    previous = {signum: signal.signal(signum, on_interrupt) for signum in HOW}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
