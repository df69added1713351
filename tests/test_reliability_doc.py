"""docs/reliability.md's generator renders what the fault suites recorded (fast tier: a sample)."""

from __future__ import annotations

from typing import Any

from tests.faults.reliability import render

ROWS: list[dict[str, Any]] = [
    {
        "suite": "matrix",
        "id": "lock-out",
        "injected": "a change that moves the management address",
        "expected": "rolled-back, exit 4",
        "observed": "exit 4; files old, live old; run rolled-back; next plan: changes pending",
        "detail": {"report": "lab01  rolled-back (run R): not confirmed within 10s"},
        "xfail": "",
        "verdict": "passed",
    },
    {
        "suite": "matrix",
        "id": "state-dir-full",
        "injected": "/var/db/bsdprov full",
        "expected": "failed | exit 1",
        "observed": "exit 3",
        "detail": None,
        "xfail": "issue 11 items 2 and 12",
        "verdict": "xfail",
    },
    {
        "suite": "soak",
        "id": "seed-7",
        "injected": "x",
        "expected": "y",
        "observed": "",
        "runs": 12,
        "seed": 7,
        "violations": ["run 3 (deploy, none): lab02: not applied, but the old state is not whole"],
        "faults": {"none": 5, "lock-out": 7},
    },
]


def test_the_doc_shows_each_scenario_and_the_soak_counts() -> None:
    doc = render(ROWS, "invoke soak --runs 12 --seed 7")
    assert "by: `invoke soak --runs 12 --seed 7`" in doc
    assert (
        "| lock-out | a change that moves the management address | rolled-back, exit 4 | exit 4; "
        "files old, live old; run rolled-back; next plan: changes pending; report: `lab01  "
        "rolled-back (run R): not confirmed within 10s` | as expected |"
    ) in doc
    assert (
        "| state-dir-full | /var/db/bsdprov full | failed \\| exit 1 | exit 3 | known failure "
        "(issue 11 items 2 and 12) |"
    ) in doc
    assert "12 runs, 1 violations of the invariant." in doc
    assert "| 7 | 12 | 1 | lock-out: 7, none: 5 |" in doc
    assert (
        "- seed 7: run 3 (deploy, none): lab02: not applied, but the old state is not whole" in doc
    )
