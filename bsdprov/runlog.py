"""A run's whole journal, read from its host (pure: the script to send and its answer parsed).

``bsdprov log`` prints it: the failure block of a deploy names the failing command, and this is
the rest of the story (every state, file, check and step with its output), without an ssh in.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from bsdprov.errors import UsageError
from bsdprov.facts import STATE_DIR
from bsdprov.run import RUN_ID_RE

_HEAD = "BSDPROV-LOG "
_NONE = "BSDPROV-LOG-NONE"


@dataclass(frozen=True, slots=True)
class RunJournal:
    """A run's journal as the host keeps it (``run_id`` None: the host has no such run)."""

    host: str
    run_id: str | None
    journal: str


def journal_script(run_id: str | None) -> str:
    """Print ``BSDPROV-LOG ID`` and the journal of run ``run_id`` (default: the newest run;
    run ids begin with their UTC start, so the last in glob order is the newest), or
    ``BSDPROV-LOG-NONE``. Read-only."""
    if run_id is not None and not RUN_ID_RE.fullmatch(run_id):
        raise UsageError(
            f"--run {run_id!r} is not a run id such as 20261123T151733Z-e33f37; "
            "'bsdprov history' lists them"
        )
    pick = (
        f"id={shlex.quote(run_id)}\n"
        if run_id
        else f"id=\nfor dir in {STATE_DIR}/runs/*; do\n"
        '\t[ -f "$dir/journal" ] && id=${dir##*/}\ndone\n'
    )
    return (
        f"{pick}"
        f'if [ -n "$id" ] && [ -f {STATE_DIR}/runs/"$id"/journal ]; then\n'
        f"\tprintf '{_HEAD}%s\\n' \"$id\"\n"
        f'\tcat {STATE_DIR}/runs/"$id"/journal\n'
        f"else\n\techo {_NONE}\nfi\n"
    )


def parse_journal(host: str, answer: str) -> RunJournal:
    """The run id and journal from ``journal_script``'s answer."""
    head, _, journal = answer.partition("\n")
    if head.startswith(_HEAD) and RUN_ID_RE.fullmatch(head[len(_HEAD) :]):
        return RunJournal(host, head[len(_HEAD) :], journal)
    return RunJournal(host, None, "")
