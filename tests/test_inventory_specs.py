"""Inventory error specs: a bad ``inventory.yaml`` in, the exact messages a user sees out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory
from tests.specs import case_id, cases

CASES = cases("inventory")


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_inventory_errors(case: Path, update_specs: bool) -> None:
    text = (case / "inventory.yaml").read_text()
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, "inventory.yaml")
    expected = case / "expected.txt"
    if update_specs:
        expected.write_text(f"{caught.value}\n")
    assert f"{caught.value}\n" == expected.read_text()
