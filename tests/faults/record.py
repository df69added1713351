"""What the fault matrix and the soak observed, kept for ``docs/reliability.md``.

Each test records its row; at the end of the session ``conftest.py`` writes them as JSON to
``$BSDPROV_RELIABILITY_JSON`` when it is set (``invoke soak`` sets it, then renders the doc with
``tests/faults/reliability.py``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tests.faults.harness import Observed

ROWS: list[dict[str, Any]] = []


def record(
    suite: str,
    row_id: str,
    injected: str,
    expected: str,
    observed: Observed | None,
    xfail: str = "",
    **extra: Any,
) -> None:
    ROWS.append(
        {
            "suite": suite,
            "id": row_id,
            "injected": injected,
            "expected": expected,
            "observed": observed.summary() if observed else "no observation (the row errored)",
            "detail": asdict(observed) if observed else None,
            "xfail": xfail,
            **extra,
        }
    )
