"""The e2e tests run ``bsdprov`` without a terminal: a deploy or rollback there needs ``--yes``
(issue 17), as it would in a user's CI job. One place adds it, so no test forgets it."""

from __future__ import annotations

from collections.abc import Sequence


def confirmed(args: Sequence[str]) -> list[str]:
    """``args`` with ``--yes`` added to a real deploy or rollback."""
    applies = bool(args) and args[0] in ("deploy", "rollback") and "--dry-run" not in args
    return [*args, "--yes"] if applies and "--yes" not in args else list(args)
