"""An inventory without hosts is valid, and ``check`` says it has none (exit 0), rather than
reading like a fleet that passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from tests.test_tasks import run


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "hosts: {}\n", "defaults: {user: root}\n"])
def test_check_of_an_inventory_without_hosts_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(text)
    code, out, err = run(capsys, "check", "-i", str(inventory))
    assert code == ExitCode.OK, err
    assert out == (
        f"{inventory}: no hosts: valid, but there is nothing to check and no command has a "
        "host to act on; add them under 'hosts:'\n"
    )
    assert "no problems" not in out
