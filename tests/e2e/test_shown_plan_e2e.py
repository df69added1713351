"""Issue 17 on the lab, at a real terminal (a pseudo-terminal): 'yes' applies the plan that was
shown and nothing else. A file edited on the host while the question waits refuses that host,
naming the file, with the host untouched; the other host, unchanged since, is applied."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from tests.e2e.test_deploy import add_alias, edited, fresh

pytestmark = pytest.mark.e2e
__all__ = ["fresh"]  # the fixture
QUESTION = b"Only 'yes' goes ahead: "


def at_a_terminal(argv: list[str], meanwhile: Callable[[], None], answer: bytes) -> tuple[int, str]:
    """Run ``bsdprov ARGV`` with a terminal as stdin, stdout and stderr; when the question
    shows, call ``meanwhile()`` and type ``answer``. Its exit code and everything it printed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, on the terminal
        os.execv(sys.executable, [sys.executable, "-m", "bsdprov", *argv])
    out, asked, deadline = b"", False, time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the command ended and closed the terminal
                break
            if not data:
                break
            out += data
        if not asked and QUESTION in out:
            asked = True
            meanwhile()
            os.write(fd, answer)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace").replace("\r\n", "\n")


def test_a_host_edited_while_the_question_waits_is_refused_and_left_untouched(
    fresh: RunningLab, tmp_path: Path
) -> None:
    edited_host, other = fresh.names[0], fresh.names[1]  # openbsd, freebsd

    def change(data: dict[str, object]) -> None:
        add_alias(data, edited_host, "203.0.113.71/32")
        add_alias(data, other, "203.0.113.72/32")

    inventory = edited(fresh, tmp_path, change)
    mygate = fresh.host_root(edited_host) / "etc/mygate"
    hostname = fresh.host_root(edited_host) / "etc/hostname.vio0"
    before = hostname.read_bytes()

    def colleague_edits_the_gateway() -> None:
        mygate.write_text("198.18.0.253\n")

    code, out = at_a_terminal(
        ["deploy", "--host", f"{edited_host},{other}", "-i", inventory],
        colleague_edits_the_gateway,
        b"yes\r",
    )
    assert code == ExitCode.FAILED, out
    assert "+inet alias 203.0.113.71" in out, "the plan was shown"
    assert (
        f"{edited_host}  failed: host '{edited_host}': not the plan shown above: /etc/mygate "
    ) in out
    assert f"{other}  changed (run " in out
    assert hostname.read_bytes() == before, "nothing of the shown plan was applied to it"
    assert mygate.read_text() == "198.18.0.253\n", "nor was the colleague's edit undone"
