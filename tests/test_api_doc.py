"""docs/api.md's examples run as they stand: against simulated hosts behind a fake ``connect``."""

from __future__ import annotations

import re

import pytest

from bsdprov import api
from tests.test_tasks import ROOT
from tests.test_tasks_api import RUN, Fleet

DOC = ROOT / "docs" / "api.md"


def examples() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", DOC.read_text(), re.M | re.S)


def test_the_page_has_examples() -> None:
    assert len(examples()) == 2


def test_the_examples_run_against_simulated_hosts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = Fleet()
    fleet.add("web01")
    fleet.add("obsd1")
    monkeypatch.setattr(api, "ssh_connector", fleet.connector)
    monkeypatch.setattr(api, "new_run_id", lambda: RUN)
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {}
    for code in examples():
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - the doc's own example
    out = capsys.readouterr().out
    assert "web01 ['/etc/hostname.vio0', '/etc/mygate']\n" in out
    assert (
        "web01 changes 4\n" in out
    )  # 3 files and the ownership record and "plan: 2 hosts: 2 with changes\n" in out
    assert f"changed {RUN} confirmed over a new SSH connection\n" in out
    assert fleet.hosts["web01"].uploads == 1 and fleet.hosts["obsd1"].uploads == 0


def test_a_fake_connect_needs_no_monkeypatching() -> None:
    (_, injected) = examples()
    namespace: dict[str, object] = {
        "api": api,
        "inventory": api.check(ROOT / "inventories/example.yaml"),
    }
    exec(compile(injected, str(DOC), "exec"), namespace)  # noqa: S102
