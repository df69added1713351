"""The bench times bsdprov from bytecode, as an installed package starts (issue 12)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bench.runner import BenchError, compile_package


def test_every_module_gets_its_bytecode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The bench's machine sets PYTHONDONTWRITEBYTECODE; the bytecode must be written anyway.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    modules = [package / "__init__.py", package / "a.py", package / "sub" / "b.py"]
    for module in modules:
        module.write_text("X = 1\n")
    compile_package(package)
    for module in modules:
        assert Path(importlib.util.cache_from_source(str(module))).is_file(), module


def test_a_module_that_does_not_compile_stops_the_bench(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def (:\n")
    with pytest.raises(BenchError, match="cannot compile"):
        compile_package(tmp_path)
