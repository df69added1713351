"""What the progress display says about each host, from its watch (``bsdprov.watch``): pure,
so the in-place display (``bsdprov.progress_live``) and the plain lines say the same words.

A host's line is its stage and the seconds since it began, both from the monotonic clock: a
wall clock that jumps (NTP, a VM resumed) would make a countdown lie. While the host's dead-man
timer runs, the line counts down the seconds it has left, as seen from here: the host armed it
when it answered the start, a little before this machine heard the answer, so the host's own
deadline is at most a round trip earlier.
"""

from __future__ import annotations

from collections.abc import Iterable

from bsdprov.watch import AWAITING, STARTED, HostWatch

# The words shown for a stage when they differ from the stage's own name.
WORDS = {
    "waiting": "waiting for a free slot",
    # txn.sh start runs the checks of the new files, then the activation, in one call: this
    # machine hears back only when both are done (or one failed).
    STARTED: "checks, then activating",
    "checking": "running checks",
}


def stage_text(watched: HostWatch, now: float) -> str:
    """The host's current stage in words; ``now`` is the watch's (monotonic) clock."""
    if watched.outcome is not None:
        return f"done: {watched.verdict or watched.outcome.status}"
    words = WORDS.get(watched.stage, watched.stage)
    if watched.stage == STARTED and watched.run_id:
        return f"{words} (run {watched.run_id})"
    if watched.stage == AWAITING:
        if watched.confirm_by is None:
            return f"{AWAITING} (no timer)"
        return f"{AWAITING} {_left(watched.confirm_by, now)} s"
    if watched.stage == "confirming" and watched.confirm_by is not None:
        return f"confirming ({_left(watched.confirm_by, now)} s left on the host's timer)"
    return words


def _left(deadline: float, now: float) -> int:
    return max(0, int(deadline - now + 0.999))  # rounded up: 0 only when the time is over


def elapsed(watched: HostWatch, now: float) -> float:
    """Seconds since the host's first stage (0 before it began); frozen once it is done."""
    if watched.began is None:
        return 0.0
    end = watched.since if watched.outcome is not None else now
    return max(0.0, end - watched.began)


def progress_rows(
    hosts: Iterable[HostWatch], now: float, limit: int | None = None
) -> tuple[list[tuple[str, str, str]], str]:
    """(host, elapsed, stage) per host, in the order the watch expected them, and a line
    about the hosts left out. With more hosts than ``limit`` rows (a terminal's height), the
    hosts at work come first, as many as fit, and the line counts the others: a display
    taller than the screen cannot be redrawn in place."""
    hosts = list(hosts)

    def row(h: HostWatch) -> tuple[str, str, str]:
        return (h.host, f"{elapsed(h, now):.0f} s", stage_text(h, now))

    if limit is None or len(hosts) <= limit:
        return [row(h) for h in hosts], ""
    working = [h for h in hosts if h.outcome is None and h.stage != "waiting"]
    shown = working[: max(1, limit - 1)]
    done = sum(h.outcome is not None for h in hosts)
    waiting = sum(h.outcome is None and h.stage == "waiting" for h in hosts)
    more = len(working) - len(shown)
    parts = [f"{more} more at work"] if more else []
    parts += [f"{done} done", f"{waiting} waiting"]
    return [row(h) for h in shown], f"{len(hosts)} hosts: {', '.join(parts)}"


def stage_line(watched: HostWatch, now: float) -> str:
    """One plain line for a stage change (a terminal that cannot redraw, TERM=dumb)."""
    if watched.stage == AWAITING and watched.confirm_by is not None:
        left = _left(watched.confirm_by, now)
        text = f"{AWAITING} (the host's timer: {left} s)"
    else:
        text = stage_text(watched, now)
    return f"  {watched.host}: {text} ({elapsed(watched, now):.1f} s)"
