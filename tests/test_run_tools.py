"""The probe looks for every command txn.sh runs (RUN_TOOLS is kept in step by hand)."""

from __future__ import annotations

import re
from pathlib import Path

from bsdprov.facts import RUN_TOOLS

TXN = Path(__file__).parents[1] / "bsdprov" / "remote" / "txn.sh"
# Reserved words and the builtins txn.sh uses.
SHELL_WORDS = {
    *("if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac"),
    *("in", "break", "continue", "return", "exit", "set", "shift", "eval", "export", "umask"),
    *("echo", "printf", "read", "kill", "wait", "trap", "command", "test", "true", "false", "cd"),
}
OPTIONAL = {"ps"}  # used where it takes -p; not required


def commands_of(script: str) -> set[str]:
    """The words in command position of a POSIX sh script, roughly: comments, quoted text,
    functions, variables and case labels left out."""
    code = "\n".join(line.split(" # ")[0] for line in script.splitlines())
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    code = re.sub(r'"[^"\n]*"', '""', code)
    code = re.sub(r"'[^']*'", "''", code)
    starts = r"(?:^\s*|&&\s*|\|\|\s*|\|\s*|\$\(\s*|\{\s+|;\s*|!\s+)"
    words = set(re.findall(starts + r"([a-z]+)\b", code, re.M))
    functions = set(re.findall(r"^([a-z_]+)\(\)", code, re.M))
    variables = set(re.findall(r"\b([a-z_]+)=", code))
    labels = set(re.findall(r"^\s*([a-z]+)\)", code, re.M))
    return words - functions - variables - labels - SHELL_WORDS


def test_the_probe_looks_for_every_command_txn_sh_runs() -> None:
    assert commands_of(TXN.read_text()) - OPTIONAL == set(RUN_TOOLS)


def test_the_list_in_txn_sh_is_the_probes() -> None:
    header = re.search(r"# Tools the run needs.*?:(.*?);", TXN.read_text(), re.S)
    assert header is not None
    assert set(header.group(1).replace("#", " ").split()) == set(RUN_TOOLS)
