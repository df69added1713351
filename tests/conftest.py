"""Shared test options and fixtures."""

from __future__ import annotations

import pytest

pytest_plugins = ["bsdprov.lab.pytest_plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-specs",
        action="store_true",
        help="rewrite golden spec files from the current output (review the diff)",
    )


@pytest.fixture
def update_specs(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-specs"))
