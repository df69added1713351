"""A tiny run of ``invoke bench`` (bsdprov and the floors only: no PyPI) on two lab hosts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bsdprov.lab.manager import down_lab
from bsdprov.lab.pytest_plugin import skip_without_lab, slot_port

pytestmark = pytest.mark.e2e


def test_bench_times_checks_and_reports(tmp_path: Path) -> None:
    skip_without_lab()
    out = tmp_path / "RESULTS.md"
    argv = ["--hosts", "2", "--reps", "1", "--tools", "bsdprov,floor"]
    argv += ["--work", str(tmp_path), "--base-port", str(slot_port(26601)), "--out", str(out)]
    try:
        assert main(argv) == 0
    finally:
        down_lab(lab_dir=tmp_path / "lab", purge=True)
    saved = json.loads((tmp_path / "samples.json").read_text())
    runs = {(s["variant"], s["run"]) for s in saved["samples"]}
    assert runs == {
        ("bsdprov deploy", "changes"),
        ("bsdprov plan", "no change"),
        ("bsdprov deploy", "no change"),
        ("paramiko floor", "uname only"),
        ("paramiko floor", "bsdprov's probe"),
        ("openssh floor", "uname only"),
    }
    changing = next(s for s in saved["samples"] if s["run"] == "changes")
    assert (changing["connections"], changing["channels"]) == (2, 4)
    text = out.read_text()
    assert "## 2 hosts" in text and "| bsdprov deploy | changes |" in text
