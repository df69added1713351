"""The in-place progress display on a terminal: one line per host, redrawn where it stands
(rich's ``Live`` on stderr), its stage and elapsed time (``bsdprov.progress``).

Imported only when stderr is a terminal that can redraw (``bsdprov.tasks``): ``rich`` costs
start-up time that ``--version``, ``check``, ``render`` and a piped ``plan`` never pay.

The display is transient: when the task's phase ends it clears itself, so the lines printed
above it (each host's result as soon as it is known, then the report and the recap) are what
stays on the screen. While it runs, what the task prints goes above it: stderr always, and
stdout when stdout is the same terminal (rich prints it through the display's console, which
writes to stderr, so a stdout sent to a file or a pipe is left alone).
"""

from __future__ import annotations

from collections.abc import Callable

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
        self.console = console or Console(stderr=True)
        self._live = Live(
            self,
            console=self.console,
            auto_refresh=auto_refresh,
            refresh_per_second=4,
            transient=True,
            redirect_stdout=redirect_stdout,
            redirect_stderr=True,
        )
        self._clock: Callable[[], float] = watch.clock

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="bold")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(overflow="ellipsis", no_wrap=True)
        for host, seconds, stage in progress_rows(self.watch.snapshot().values(), self._clock()):
            grid.add_row(host, seconds, Text(stage, style=STYLES.get(stage, "")))
        yield grid

    def start(self) -> None:
        self._live.start()

    def refresh(self) -> None:
        self._live.refresh()

    def stop(self) -> None:
        """Clear the display and give the terminal back (its cursor too); idempotent."""
        self._live.stop()
