"""The core (inventory -> model -> render) never does I/O: enforced by an import scan."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "bsdprov"
CORE = [
    "model.py",
    "vmd.py",
    "lifecycle.py",
    "rollback.py",
    "ownership.py",
    "verify.py",
    "render",
    "plan.py",
    "facts.py",
    "drift.py",
    "outcome.py",
    "output.py",
    "errors.py",
]
FORBIDDEN = {
    "fabric",
    "paramiko",
    "invoke",
    "subprocess",
    "socket",
    "os",
    "time",
    "random",
    "datetime",
    "shutil",
    "tempfile",
}


def core_files() -> list[Path]:
    files: list[Path] = []
    for entry in CORE:
        path = PACKAGE / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_modules_import_no_io() -> None:
    offenders = {
        str(p.relative_to(PACKAGE)): sorted(imported_roots(p) & FORBIDDEN) for p in core_files()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_never_prints_or_opens_files() -> None:
    for path in core_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {"print", "open", "exit"}, f"{path}:{node.lineno}"


def test_inventory_reads_only_through_load_inventory() -> None:
    parts = sorted((PACKAGE / "inventory").glob("*.py"))
    reads = {p.name: sum(p.read_text().count(f) for f in ("read_text(", "open(")) for p in parts}
    assert reads == {p.name: int(p.name == "__init__.py") for p in parts}
    for part in parts:
        assert imported_roots(part) & FORBIDDEN == set(), part
