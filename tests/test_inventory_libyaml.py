"""The inventory's YAML is read by libyaml when PyYAML has it (the pure-Python parser cost a
cold plan tens of milliseconds), with the same data and lines; YAML that does not parse is
still worded by the pure-Python parser, as it always was."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory, yaml_lines
from tests.test_tasks import EXAMPLE

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")


def _loaders_used(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    used: list[object] = []
    real = yaml.compose

    def compose(text: str, Loader: object) -> object:
        used.append(Loader)
        return real(text, Loader=Loader)  # type: ignore[arg-type]

    monkeypatch.setattr(yaml, "compose", compose)
    return used


def test_a_valid_inventory_is_read_once_by_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    used = _loaders_used(monkeypatch)
    inventory = parse_inventory(Path(EXAMPLE).read_text(), EXAMPLE)
    assert used == [yaml.CSafeLoader]
    assert "web01" in inventory.hosts


def test_libyaml_gives_the_same_data_and_lines_as_the_pure_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = Path(EXAMPLE).read_text()
    fast = yaml_lines.parse_yaml(text, EXAMPLE)
    monkeypatch.setattr(yaml_lines, "_LIBYAML", None)
    assert yaml_lines.parse_yaml(text, EXAMPLE) == fast


def test_bad_yaml_keeps_the_pure_parsers_words_and_line() -> None:
    # libyaml would say "did not find expected ',' or ']'".
    with pytest.raises(InventoryError) as raised:
        parse_inventory("hosts:\n  a:\n    x: [1, 2}\n", "inv.yaml")
    assert str(raised.value.problems[0]) == (
        "inv.yaml:3: invalid YAML: expected ',' or ']', but got '}'"
    )
