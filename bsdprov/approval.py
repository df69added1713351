"""The question a deploy or rollback asks before it changes hosts, and who can answer it.

A sysadmin at a terminal sees the plan and types ``yes``; anything else applies nothing. Without
a terminal on stdin no one can answer, so the command refuses unless ``--yes`` says the caller
has seen the plan already (a CI job, a script that ran ``bsdprov plan``): applying without being
asked must be a choice written down, never the default of a pipe.
"""

from __future__ import annotations

import sys

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
    """Ask on stderr (stdout carries the plan and the report); only ``yes`` approves."""
    sys.stderr.write(f"{question} Only 'yes' goes ahead: ")
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return False
    return answer.strip().lower() == "yes"
