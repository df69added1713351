"""The in-place progress display on a terminal: one line per host, redrawn where it stands
(rich's ``Live`` on stderr), its stage and elapsed time (``bsdprov.progress``).

Imported only when stderr is a terminal that can redraw (``bsdprov.tasks``): ``rich`` costs
start-up time that ``--version``, ``check``, ``render`` and a piped ``plan`` never pay.

The display is transient: when the task's phase ends it clears itself, so the lines printed
above it (each host's result as soon as it is known, then the report and the recap) are what
stays on the screen. While it runs, what the task prints goes above it, each whole line as it
was written (no wrapping at the terminal's width, no markup: a diff line stays one line): stderr
always, and stdout when stdout is a terminal too; a stdout sent to a file or a pipe is left
alone.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bsdprov.progress import progress_rows
from bsdprov.watch import Watch

STYLES = {
    "done: changed": "green",
    "done: unchanged": "green",
    "done: changes": "yellow",
    "done: skipped": "cyan",
    "done: failed": "red",
    "done: rolled-back": "red",
    "done: unreachable": "magenta",
}


class LiveProgress:
    """Every host's line, redrawn in place about four times a second while started."""

    def __init__(
        self,
        watch: Watch,
        console: Console | None = None,
        *,
        redirect_stdout: bool = False,
        auto_refresh: bool = True,
    ) -> None:
        self.watch = watch
        # The stream itself, not "sys.stderr when writing": start() swaps sys.stderr.
        self.console = console or Console(file=sys.stderr)
        self._live = Live(
            self,
            console=self.console,
            auto_refresh=auto_refresh,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._clock: Callable[[], float] = watch.clock
        self._redirect_stdout = redirect_stdout
        self._saved: tuple[TextIO, TextIO] | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(overflow="ellipsis", no_wrap=True)
        # Room for every line on the screen, or the redraw would scroll what it cannot reach.
        limit = max(2, options.size.height - 2)
        rows, left_out = progress_rows(self.watch.snapshot().values(), self._clock(), limit)
        for host, seconds, stage in rows:
            grid.add_row(host, seconds, Text(stage, style=STYLES.get(stage, "")))
        yield grid
        if left_out:
            yield Text(left_out, style="dim")

    def start(self) -> None:
        self._live.start()
        self._saved = (sys.stdout, sys.stderr)
        sys.stderr = _Above(self.console, sys.stderr)
        if self._redirect_stdout:
            sys.stdout = _Above(self.console, sys.stdout)

    def refresh(self) -> None:
        self._live.refresh()

    def stop(self) -> None:
        """Clear the display and give the terminal back (its cursor too); idempotent."""
        self._live.stop()
        if self._saved is not None:
            for stream in (sys.stdout, sys.stderr):
                if isinstance(stream, _Above):
                    stream.finish()
            sys.stdout, sys.stderr = self._saved
            self._saved = None


class _Above(io.TextIOBase):
    """A stream whose whole lines print above the display, exactly as written (rich's own
    proxy wraps them at the terminal's width); a line not ended yet waits for its end."""

    def __init__(self, console: Console, original: TextIO) -> None:
        super().__init__()
        self._console = console
        self._original = original
        self._pending = ""

    @property
    def rich_proxied_file(self) -> TextIO:
        return self._original

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        if lines:  # one print, one redraw of the display, for a whole host's report
            self._console.out("\n".join(lines), highlight=False)
        return len(text)

    def finish(self) -> None:
        """The display is gone: a line left unended goes to the stream itself."""
        if self._pending:
            self._original.write(self._pending)
            self._pending = ""

    def isatty(self) -> bool:
        return self._original.isatty()

    def fileno(self) -> int:
        return self._original.fileno()
