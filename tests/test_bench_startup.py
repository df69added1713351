"""Issue 12's start-up figures in the bench: judged as ratios of one run, rendered in RESULTS.md."""

from __future__ import annotations

from pathlib import Path

from bench.runner import Step, verify
from bench.stats import (
    FLOOR,
    IMPORT_PARAMIKO,
    NO_CHANGE,
    READ,
    START,
    VERSION,
    Sample,
    merged,
    parse_results,
    render_results,
    startup_targets,
    summarise,
)


def sample(variant: str, hosts: int, run: str, seconds: float) -> Sample:
    return Sample(variant, hosts, run, seconds, 40.0, 1, 1)


def test_startup_targets_are_ratios_of_one_run() -> None:
    found = startup_targets(
        summarise(
            [
                sample("bsdprov plan", 20, NO_CHANGE, 0.9),
                sample(FLOOR, 20, READ, 0.5),
                sample(VERSION, 20, START, 0.05),
                sample(VERSION, 20, START, 0.07),
                sample(IMPORT_PARAMIKO, 20, START, 0.2),
            ]
        )
    )
    (plan, version) = found
    assert (plan.met, plan.detail) == (False, "1.80×")
    assert (version.met, version.detail) == (True, "0.30× (0.060 s)")


def test_startup_targets_not_measured_say_so() -> None:
    assert [t.met for t in startup_targets([])] == [None, None]


def test_results_carry_the_startup_rows_and_targets() -> None:
    samples = [sample(VERSION, 20, START, 0.05), sample(IMPORT_PARAMIKO, 20, START, 0.2)]
    text = render_results(summarise(samples), "x86_64", "v", "notes", "cmd")
    assert "| bsdprov --version | start-up | 0.05 |" in text
    assert "## Targets (issue 12: start-up)" in text
    assert "≤ 0.5× the time of `python -c 'import paramiko'`: met (0.25× (0.050 s))" in text


def test_a_startup_step_that_printed_the_wrong_thing_gets_no_time() -> None:
    version = Step(VERSION, START, ("bsdprov", "--version"))
    imported = Step(IMPORT_PARAMIKO, START, ("python", "-c", "import paramiko"))
    assert verify(None, None, version, "bsdprov 0.1.0\n") == []  # type: ignore[arg-type]
    assert verify(None, None, version, "Usage: bsdprov\n") != []  # type: ignore[arg-type]
    assert verify(None, None, imported, "") == []  # type: ignore[arg-type]
    assert verify(None, None, imported, "ModuleNotFoundError") != []  # type: ignore[arg-type]


def test_a_merged_run_keeps_the_rows_it_did_not_measure() -> None:
    old = [sample("bsdprov plan", 50, NO_CHANGE, 1.4), sample(FLOOR, 50, READ, 1.0)]
    text = render_results(summarise(old), "m", "v", "notes", "invoke bench --hosts 50 --reps 3")
    earlier, command = parse_results(text)
    assert earlier == summarise(old) and command == "invoke bench --hosts 50 --reps 3"
    new = summarise([sample(FLOOR, 50, READ, 0.9), sample(VERSION, 20, START, 0.05)])
    rows = merged(earlier, new)
    assert [(s.variant, s.hosts, s.median) for s in rows] == [
        (VERSION, 20, 0.05),
        ("bsdprov plan", 50, 1.4),
        (FLOOR, 50, 0.9),
    ]


def test_the_committed_results_read_back() -> None:
    text = (Path(__file__).parent.parent / "bench" / "RESULTS.md").read_text()
    rows, command = parse_results(text)
    assert command.startswith("invoke bench --hosts ")
    assert {s.hosts for s in rows} >= {50} and len(rows) >= 10
