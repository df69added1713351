"""Issue 12's fast start and fast exit, in fresh interpreters as a user's shell starts them.

The bench measures the time (bench/RESULTS.md); these tests keep what made it: a live command
imports no more than it needs before its first connection, and the command ends without
tearing down every module it loaded, yet with its output, exit status and atexit handlers
intact, and never while another thread still works.
"""

from __future__ import annotations

import subprocess
import sys

from bsdprov.errors import ExitCode
from tests.test_tasks import EXAMPLE, ROOT

# A module-level object whose finaliser runs only when the interpreter tears its modules
# down, and an atexit handler, which must run either way.
MARKERS = (
    "import atexit, os, sys\n"
    "class Teardown:\n"
    "    def __del__(self, write=os.write):\n"
    "        write(2, b'TEARDOWN\\n')\n"
    "sys.modules['__main__'].kept = Teardown()\n"
    "atexit.register(lambda: sys.stderr.write('ATEXIT\\n'))\n"
)


def _command(*argv: str, before: str = "") -> subprocess.CompletedProcess[str]:
    """``bsdprov ARGV`` as the console script runs it: ``main()`` reading ``sys.argv``."""
    child = (
        f"{MARKERS}{before}"
        "from bsdprov.cli import main\n"
        f"sys.argv = ['bsdprov', *{list(argv)!r}]\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_a_finished_command_skips_the_teardown_but_keeps_output_status_and_atexit() -> None:
    done = _command("check", "-i", EXAMPLE)
    assert done.returncode == ExitCode.OK
    assert done.stdout.endswith("example.yaml: 8 hosts, no problems\n")
    assert "ATEXIT" in done.stderr
    assert "TEARDOWN" not in done.stderr


def test_a_failed_command_keeps_its_exit_status_and_message() -> None:
    done = _command("render", "--host", "nosuch", "-i", EXAMPLE)
    assert done.returncode == ExitCode.USAGE
    assert "no host 'nosuch'" in done.stderr
    assert "TEARDOWN" not in done.stderr


def test_a_thread_still_working_gets_the_ordinary_exit_which_waits_for_it() -> None:
    worker = (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.5), sys.stderr.write('WORKER\\n'))"
        ").start()\n"
    )
    done = _command("check", "-i", EXAMPLE, before=worker)
    assert done.returncode == ExitCode.OK
    assert "WORKER" in done.stderr  # the fast exit would have cut it short


def test_called_with_arguments_main_returns_as_a_function_does() -> None:
    child = (
        f"{MARKERS}from bsdprov.cli import main\n"
        f"main(['check', '-i', {EXAMPLE!r}])\n"
        "sys.stderr.write('RETURNED\\n')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0 and "RETURNED" in done.stderr
