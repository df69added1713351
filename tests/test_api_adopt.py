"""``api.adopt``: ``bsdprov import`` as a library call, over an injected ``connect``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov import api
from bsdprov.adopt.script import import_script
from bsdprov.errors import UsageError
from bsdprov.inventory import load_inventory
from bsdprov.model import Host
from bsdprov.testing import FakeTransport, answer
from tests.test_adopt_task import PROBE, RC


def reply() -> FakeTransport:
    return FakeTransport([answer(PROBE.format(size=len(RC.encode()), rc=RC))])


def test_adopt_returns_the_entry_read_over_the_given_connect(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("hosts:\n  old1: {os: openbsd}\n")
    asked: list[Host] = []
    session = reply()

    def connect(host: Host) -> FakeTransport:
        asked.append(host)
        return session

    text = api.adopt(inventory, "new1", address="192.0.2.50", connect=connect)
    assert [(h.name, h.address) for h in asked] == [("new1", "192.0.2.50")]
    assert session.scripts == [import_script()] and session.closed
    assert text.startswith("# new1: freebsd 14.1-RELEASE, read 1 files\n")
    assert "      vtnet0: {addresses: [192.0.2.50/24]}\n" in text
    assert inventory.read_text() == "hosts:\n  old1: {os: openbsd}\n", "no write: untouched"


def test_adopt_write_creates_an_inventory_that_loads(tmp_path: Path) -> None:
    inventory = tmp_path / "new.yaml"
    text = api.adopt(
        inventory, "new1", address="192.0.2.50", write=True, connect=lambda host: reply()
    )
    assert f"# written to {inventory}" in text
    assert load_inventory(inventory).hosts["new1"].os == "freebsd"


def test_adopt_without_a_host_is_a_usage_error_before_any_connection(tmp_path: Path) -> None:
    def connect(host: Host) -> FakeTransport:
        raise AssertionError("connected")

    with pytest.raises(UsageError, match="import needs --host NAME"):
        api.adopt(tmp_path / "x.yaml", "", connect=connect)
