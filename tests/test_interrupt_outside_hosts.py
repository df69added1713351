"""Ctrl-C where no host is in flight (reading the inventory, printing the report) exits 130
too (attack on issue 17): Invoke turned it into exit 1, a failed host's code, with nothing
said."""

from __future__ import annotations

import pytest

from bsdprov import api
from bsdprov.errors import ExitCode
from tests.test_tasks import EXAMPLE, run


def test_ctrl_c_while_reading_the_inventory_exits_130_saying_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def pressed(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "check", pressed)
    code, out, err = run(capsys, "plan", "--all", "-i", EXAMPLE)
    assert (code, out, err) == (130, "", "interrupted (Ctrl-C)\n")
    assert code != ExitCode.FAILED
