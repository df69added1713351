"""The question a deploy or rollback asks before it changes hosts, and who can answer it.

A sysadmin at a terminal sees the plan and types ``yes``; anything else applies nothing. Without
a terminal on stdin no one can answer, so the command refuses unless ``--yes`` says the caller
has seen the plan already (a CI job, a script that ran ``bsdprov plan``): applying without being
asked must be a choice written down, never the default of a pipe.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bsdprov.errors import UsageError


def answerable() -> bool:
    """Whether a person can answer a question: stdin is a terminal."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:  # stdin closed
        return False


def require_answerable(verb: str) -> None:
    """Refuse before any host is contacted when no one can answer the question."""
    if not answerable():
        raise UsageError(
            f"{verb}: stdin is not a terminal, so no one can confirm the plan; "
            f"pass --yes to {verb} without the question ('bsdprov plan' shows what would change)"
        )


def approved(question: str) -> bool:
    """Ask where the person at the terminal sees it, stderr (stdout carries the plan and the
    report) or, when stderr goes to a file ('2>deploy.log'), stdout: asked into the file, the
    question was never seen and the command sat waiting. Only ``yes`` approves."""
    where = sys.stderr if _is_terminal(sys.stderr) or not _is_terminal(sys.stdout) else sys.stdout
    where.write(f"{question} Only 'yes' goes ahead: ")
    where.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    if not answer.endswith("\n"):
        # Ctrl-C or Ctrl-D (end of input): what follows starts on a line of its own.
        where.write("\n")
        where.flush()
    return answer.strip().lower() == "yes"


def _is_terminal(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False
