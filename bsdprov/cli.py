"""The ``bsdprov`` console command's entry point.

``--version`` is answered before anything else is imported: the command's Program and its tasks
pull in Invoke and the inventory model (pydantic), a good share of a cold start, which a
version check need not pay. Everything else goes to ``bsdprov.console``.
"""

from __future__ import annotations

import os
import sys

from bsdprov import __version__


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        if args in (["--version"], ["-V"]):
            sys.stdout.write(f"bsdprov {__version__}\n")
            sys.stdout.flush()
            return
        # pydantic looks for plugins in every installed distribution's entry points when the
        # first model is built (about 30 ms of each start); the command uses none. A user who
        # sets the variable keeps their choice.
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
        from bsdprov.console import program

        program.run(["bsdprov", *args])
    except BrokenPipeError:
        # The reader went away ('bsdprov plan | head'): stop quietly, as a shell tool does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
