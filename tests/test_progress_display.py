"""The in-place progress display (issue 17): one line per host, its stage and elapsed time,
redrawn where it stands on a terminal (rich), counting down the host's confirm timer by the
monotonic clock; plain lines or nothing elsewhere, and rich never loaded for those."""

from __future__ import annotations

import datetime
import re
import sys
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from bsdprov import tasks
from bsdprov.outcome import Outcome
from bsdprov.progress_live import LiveProgress
from bsdprov.watch import AWAITING, STARTED, Watch
from tests import test_tasks_api
from tests.test_cli import _loaded_modules
from tests.test_tasks import EXAMPLE
from tests.test_tasks_api import RUN, Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov
UP_AND_ERASE = "\x1b[1A\x1b[2K"  # cursor up a line, erase it: a redraw in place


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def screen(watch: Watch, **console: object) -> tuple[LiveProgress, StringIO]:
    out = StringIO()
    shown = LiveProgress(
        watch,
        Console(force_terminal=True, file=out, width=100, **console),  # type: ignore[arg-type]
        auto_refresh=False,
    )
    return shown, out


def frames(text: str) -> list[str]:
    """Each redraw's text, the escape sequences taken out."""
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    frames = [frame.strip() for frame in plain.split("\r") if frame.strip()]
    return ["\n".join(line.rstrip() for line in frame.splitlines()) for frame in frames]


def test_each_host_is_one_line_redrawn_in_place_with_a_countdown_by_the_monotonic_clock() -> None:
    clock = Clock()
    # The wall clock jumps back an hour mid-run (NTP): the countdown must not care.
    walls = iter([datetime.datetime(2026, 12, 4, 23, 0, tzinfo=datetime.UTC)] * 9)
    watch = Watch(clock=clock, now=lambda: next(walls), confirm_timeout=120)
    watch.expect(["web01", "obsd1"])
    shown, out = screen(watch)
    shown.start()
    watch.stage("web01", "connecting")
    watch.stage("obsd1", "connecting")
    clock.now += 1
    watch.stage("web01", "probing")
    shown.refresh()
    watch.stage("web01", STARTED, RUN)
    clock.now += 4
    watch.stage("web01", AWAITING)  # the start answered: the host armed its 120 s timer
    clock.now += 23
    shown.refresh()
    watch.stage("web01", "connecting")  # the new login that will confirm
    clock.now += 10
    shown.refresh()
    watch.finished(Outcome("obsd1", "unchanged"))
    watch.stage("web01", "confirming")
    shown.refresh()
    shown.stop()
    text = out.getvalue()
    seen = frames(text)
    assert seen[0].splitlines() == ["web01  1 s  probing", "obsd1  1 s  connecting"]
    assert seen[1].splitlines()[0] == "web01  28 s  awaiting confirmation 97 s"
    assert seen[2].splitlines()[0] == "web01  38 s  awaiting confirmation 87 s"
    assert seen[3].splitlines() == [
        "web01  38 s  confirming (87 s left on the host's timer)",
        "obsd1  38 s  done: unchanged",
    ]
    assert text.count(UP_AND_ERASE) >= 3, "each frame redraws the last one where it stands"
    assert text.startswith("\x1b[?25l") and "\x1b[?25h" in text, "cursor hidden, then back"
    assert text.endswith(UP_AND_ERASE), "transient: the display clears itself at the end"


def test_no_timer_is_said_and_colour_follows_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    watch = Watch(clock=clock, confirm_timeout=None)
    watch.expect(["web01", "obsd1"])
    watch.stage("web01", AWAITING)
    watch.finished(Outcome("obsd1", "failed", "x"))
    shown, out = screen(watch)
    shown.start()
    shown.stop()
    assert "awaiting confirmation (no timer)" in frames(out.getvalue())[0]
    assert "\x1b[31m" in out.getvalue(), "a failed host is red on a colour terminal"
    monkeypatch.setenv("NO_COLOR", "1")
    shown, out = screen(watch)
    shown.start()
    shown.stop()
    assert "done: failed" in out.getvalue()
    assert not re.search(r"\x1b\[3\dm", out.getvalue()), "NO_COLOR: no colour at all"


def test_a_deploy_on_a_terminal_draws_in_place_and_leaves_results_and_report(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(tasks, "_through_a_pipe", lambda stream: False)  # stdout: a file
    monkeypatch.setenv("TERM", "xterm-256color")
    code, out, err = bsdprov("deploy", "--host", "web01,obsd1", "--yes")
    assert code == 0
    assert err.startswith("\x1b[?25l") and "\x1b[?25h" in err, "the display ran and ended"
    results = re.findall(r"\[\d/2\] \w+: \w+", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err))
    assert sorted(results) in (
        ["[1/2] obsd1: unchanged", "[2/2] web01: changed"],
        ["[1/2] web01: changed", "[2/2] obsd1: unchanged"],
    ), "each host's result stays above the display"
    assert test_tasks_api.report(out).endswith("deploy: 2 hosts: 1 changed, 1 unchanged\n")
    assert "\x1b" not in out, "stdout (not a terminal here) gets the report untouched"


def test_a_pipe_gets_no_stage_lines(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, _, err = bsdprov("deploy", "--host", "web01", "--yes")
    assert (code, err) == (0, "[1/1] web01: changed\n")


def test_a_plan_on_a_pipe_never_loads_rich(tmp_path: Path) -> None:
    inventory = tmp_path / "one.yaml"
    # Port 1 on loopback: refused at once, so the plan runs its whole live path quickly.
    inventory.write_text(
        "hosts:\n  web01:\n    address: 127.0.0.1\n    port: 1\n    os: openbsd\n"
        "    interfaces:\n      vio0: {addresses: [192.0.2.1/24]}\n"
    )
    loaded = _loaded_modules("plan", "--host", "web01", "-i", str(inventory))
    assert "bsdprov.tasks" in loaded and "bsdprov.watch" in loaded
    assert "rich" not in loaded and "bsdprov.progress_live" not in loaded


def test_what_the_task_prints_meanwhile_goes_above_the_display_unwrapped() -> None:
    watch = Watch(clock=Clock())
    watch.expect(["web01"])
    out = StringIO()
    shown = LiveProgress(
        watch, Console(force_terminal=True, file=out, width=60), redirect_stdout=True
    )
    stdout, stderr = sys.stdout, sys.stderr
    long_line = "+inet alias 203.0.113.21 255.255.255.255 " + "x" * 200
    shown.start()
    try:
        print(long_line)
        sys.stderr.write("[1/1] web01: changed\n")
        sys.stdout.write("unended")
    finally:
        shown.stop()
    assert (sys.stdout, sys.stderr) == (stdout, stderr), "the streams are given back"
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert f"{long_line}\n" in plain, "one line as written, not wrapped at 60 columns"
    assert "[1/1] web01: changed\n" in plain


def test_more_hosts_than_the_screen_has_lines_show_those_at_work_and_a_count() -> None:
    clock = Clock()
    watch = Watch(clock=clock)
    names = [f"h{n:02}" for n in range(30)]
    watch.expect(names)
    for name in names[:5]:
        watch.finished(Outcome(name, "changed"))
    for name in names[5:12]:
        watch.stage(name, "probing")
    shown, out = screen(watch, height=6)
    shown.start()
    shown.stop()
    (frame,) = frames(out.getvalue())
    assert frame.splitlines() == [
        "h05  0 s  probing",
        "h06  0 s  probing",
        "h07  0 s  probing",
        "30 hosts: 4 more at work, 5 done, 18 waiting",
    ]


def test_after_the_question_the_applied_hosts_are_followed_afresh(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)  # no changes: left out of the apply phase
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "dumb")
    monkeypatch.setattr("bsdprov.tasks.require_answerable", lambda verb: None)
    monkeypatch.setattr("bsdprov.tasks.approved", lambda question: True)
    code, _, err = bsdprov("deploy", "--host", "web01,obsd1")
    assert code == 0
    stages = [m.group(1) for m in re.finditer(r"^  (\w+: [^(]+?) \(", err, re.M)]
    planned = stages.index("obsd1: probing")
    applied = stages[stages.index("web01: uploading") - 2 :]
    assert planned < len(stages) - len(applied), "the plan phase came first"
    assert applied[:3] == ["web01: connecting", "web01: probing", "web01: uploading"]
    assert not any(s.startswith("obsd1") for s in applied), "obsd1 is not applied to"


@pytest.mark.parametrize(
    "argv",
    [
        ("--version",),
        ("check", "-i", EXAMPLE),
        ("render", "-i", EXAMPLE),
    ],
    ids=lambda argv: argv[0],
)
def test_offline_commands_never_load_rich(argv: tuple[str, ...]) -> None:
    loaded = _loaded_modules(*argv)
    assert "bsdprov" in loaded and "rich" not in loaded
