"""Shared test options and fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["bsdprov.lab.pytest_plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-specs",
        action="store_true",
        help="rewrite golden spec files from the current output (review the diff)",
    )


LAB_TESTS = Path(__file__).parent / "lab"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/lab/ tests the lab (its units and its fake BSD tools), not bsdprov: the ``lab``
    tier, unless they run whole labs (``e2e``)."""
    for item in items:
        if item.path.is_relative_to(LAB_TESTS) and item.get_closest_marker("e2e") is None:
            item.add_marker(pytest.mark.lab)


@pytest.fixture
def update_specs(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-specs"))
