"""Issue 12's start-up figures in the bench: judged as ratios of one run, rendered in RESULTS.md."""

from __future__ import annotations

from bench.runner import Step, verify
from bench.stats import (
    FLOOR,
    IMPORT_PARAMIKO,
    NO_CHANGE,
    READ,
    START,
    VERSION,
    Sample,
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
