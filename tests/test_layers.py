"""Layer rules over bsdprov's own import graph (read from the source, not by importing it).

- The core (inventory, model, render, plan, the run protocol, facts and the other pure modules)
  imports no I/O module and nothing outside the core: so, transitively, no I/O either.
- Only ``bsdprov.ssh`` imports Fabric or Paramiko; the session seam, planning and applying load
  neither (a plan over a fake transport, and every command that does not connect, starts fast).
- Nothing but the command line (``bsdprov.tasks``, ``bsdprov.cli``) imports the lab.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "bsdprov"

# Pure: values in, values out. A package name covers its submodules.
CORE = (
    "bsdprov.errors",
    "bsdprov.model",
    "bsdprov.inventory",
    "bsdprov.vmd",
    "bsdprov.bhyve",
    "bsdprov.lifecycle",
    "bsdprov.render",
    "bsdprov.facts",
    "bsdprov.drift",
    "bsdprov.plan",
    "bsdprov.boot_hook",
    "bsdprov.rollback",
    "bsdprov.ownership",
    "bsdprov.run",
    "bsdprov.verify",
    "bsdprov.outcome",
    "bsdprov.output",
    "bsdprov.failure",
    "bsdprov.recap",
    "bsdprov.runlog",
    "bsdprov.session",
    "bsdprov.adopt",
)
NOT_CORE = ("bsdprov.adopt.run",)  # import's connecting and file-writing half
# Modules that do I/O (the network, processes, the clock, the file system's state) and the
# command-line frameworks; bsdprov's own I/O packages are named here too.
IO_MODULES = {
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
    "bsdprov.ssh",
    "bsdprov.lab",
}
SSH_LIBRARIES = ("fabric", "paramiko")
LAB_USERS = ("bsdprov.tasks", "bsdprov.cli", "bsdprov.lab")
# What reading or applying a plan loads: none of it may pull Fabric or Paramiko in.
SSH_FREE = ("bsdprov.session", "bsdprov.apply", "bsdprov.fleet", "bsdprov.testing")


@dataclass(frozen=True, slots=True)
class Import:
    module: str  # the imported module, dotted
    top_level: bool  # run on import (not inside a function, not under TYPE_CHECKING)
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "fakes" not in p.parts}


def within(name: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def is_core(name: str) -> bool:
    return within(name, CORE) and not within(name, NOT_CORE)


@functools.cache  # every rule reads the same graph: parse each module once
def imports_of(name: str) -> tuple[Import, ...]:
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, top_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, top_level, child.lineno) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    # "from bsdprov import lab" imports the module bsdprov.lab.
                    full = f"{base}.{alias.name}"
                    found.append(Import(full if full in MODULES else base, top_level, child.lineno))
            elif (
                isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                or isinstance(child, ast.If)
                and "TYPE_CHECKING" in ast.unparse(child.test)
            ):
                visit(child, False)
            else:
                visit(child, top_level)

    visit(ast.parse(path.read_text()), True)
    return tuple(found)


def test_the_module_list_is_read() -> None:
    assert {"bsdprov.plan", "bsdprov.run", "bsdprov.ssh.transport", "bsdprov.inventory"} <= set(
        MODULES
    )


@pytest.mark.parametrize("name", [n for n in MODULES if is_core(n)])
def test_the_core_imports_no_io_and_nothing_outside_the_core(name: str) -> None:
    bad = [
        f"line {i.line}: {i.module}"
        for i in imports_of(name)
        if within(i.module, IO_MODULES)
        or (i.module.startswith("bsdprov.") and i.module in MODULES and not is_core(i.module))
    ]
    assert bad == [], f"{name} is core"


def test_only_bsdprov_ssh_imports_fabric_or_paramiko() -> None:
    users = {
        name for name in MODULES for i in imports_of(name) if within(i.module, set(SSH_LIBRARIES))
    }
    assert users and all(within(u, {"bsdprov.ssh"}) for u in users), sorted(users)


def test_nothing_but_the_command_line_imports_the_lab() -> None:
    users = {
        f"{name} line {i.line}"
        for name in MODULES
        if not within(name, set(LAB_USERS))
        for i in imports_of(name)
        if within(i.module, {"bsdprov.lab"})
    }
    assert users == set()


def loaded_on_import(name: str) -> set[str]:
    """Every bsdprov module and library root importing ``name`` runs, by the source."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current not in MODULES:
            continue
        parents = current.split(".")
        todo += [".".join(parents[:n]) for n in range(2, len(parents))]  # its packages
        todo += [i.module for i in imports_of(current) if i.top_level]
    return seen


@pytest.mark.parametrize("name", SSH_FREE)
def test_the_seam_planning_and_applying_load_no_ssh_library(name: str) -> None:
    loaded = loaded_on_import(name)
    assert not {m for m in loaded if within(m, {*SSH_LIBRARIES, "bsdprov.ssh"})}


def test_importing_apply_really_loads_no_ssh_library() -> None:
    # The same rule, seen by the interpreter: a lazy import the scan mistakes would show here.
    probe = (
        "import sys, bsdprov.apply, bsdprov.plan, bsdprov.run, bsdprov.testing\n"
        "print(sorted(m for m in ('paramiko', 'fabric', 'invoke') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout == "[]\n"
