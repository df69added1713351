"""Write what the fault suites observed, for docs/reliability.md (see record.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import dump_json
from tests.faults.record import ROWS

RELIABILITY_JSON = "BSDPROV_RELIABILITY_JSON"


@pytest.fixture(scope="session", autouse=True)
def reliability_record() -> Iterator[None]:
    yield
    target = os.environ.get(RELIABILITY_JSON)
    if target and ROWS:
        dump_json(Path(target), ROWS)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Mark the recorded row with the test's verdict."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and ROWS and ROWS[-1].get("nodeid") is None:
        ROWS[-1]["nodeid"] = item.nodeid
        ROWS[-1]["verdict"] = (
            "xfail" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        )
