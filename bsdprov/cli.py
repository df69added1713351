"""The ``bsdprov`` console command's entry point.

``--version`` is answered before anything else is imported: the command's Program and its tasks
pull in Invoke and the inventory model (pydantic), a good share of a cold start, which a
version check need not pay. Everything else goes to ``bsdprov.console``.

Run as the process's own command (no ``argv`` given), the command also leaves fast: once it has
finished, its output is flushed and the ``atexit`` handlers have run, it ends the process
without tearing down every module it loaded (pydantic's schemas, paramiko, cryptography), which
cost a no-change plan as much as a third of its own imports. It does so only when no other
non-daemon thread is still alive, so nothing still working is cut short.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

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

        try:
            program.run(["bsdprov", *args])
            status: str | int | None = 0
        except SystemExit as exc:
            if argv is not None:
                raise
            status = exc.code
        if argv is None:
            _leave(status)
    except BrokenPipeError:
        # The reader went away ('bsdprov plan | head'): stop quietly, as a shell tool does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)


def _leave(status: str | int | None) -> None:
    """End the process with ``status`` (as ``sys.exit`` would), skipping the interpreter's
    teardown when that is safe: output flushed, atexit handlers run, no other thread working."""
    code = 0 if status is None else status
    others = [
        t
        for t in threading.enumerate()
        if t is not threading.current_thread() and not t.daemon and t.is_alive()
    ]
    if not isinstance(code, int) or others:
        sys.exit(status)  # the ordinary way: Python prints a message status, joins threads
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code & 0xFF)  # as the OS keeps it of exit(code)
