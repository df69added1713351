"""What a host wrote is shown, never obeyed, by the operator's terminal (attack on issue 17):
a host's file, error output or journal holding ESC, CR or BEL went to stdout as is, so a
hostile host (or a stray byte) could clear the screen, move the cursor over the diff the
operator reviews before 'yes', or rewrite a line. Control characters print as \\xNN."""

from __future__ import annotations

from dataclasses import dataclass

from bsdprov.errors import ExitCode
from bsdprov.output import terminal_safe
from bsdprov.session import CommandResult
from tests import test_tasks_api
from tests.test_tasks_api import FakeHost, Fleet, Run, ok, report

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov
HOSTILE = "192.0.2.99 \x1b[2J\x1b[1A\x1b[2K\r== web01: no changes\x07\n"


@dataclass
class HostileHost(FakeHost):
    """A host whose /etc/mygate, and whose failing step's output, hold terminal controls."""

    def respond(self, script: str) -> CommandResult:
        probe = "BSDPROV-PROBE" in script and not any(
            word in script for word in ("txn.sh start", "txn.sh confirm", "BSDPROV-VERIFY")
        )
        if probe:
            size = len(HOSTILE.encode())
            return ok(
                "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
                f"file {size} -rw-r--r-- root wheel /etc/mygate\n{HOSTILE}\n"
                "BSDPROV-PROBE-END\n"
            )
        if "txn.sh start" in script:
            return ok(
                "state=rolled-back\nreason=step failed (exit 1): sh /etc/netstart vio0\n"
                "journal:\nstep (exit 1): sh /etc/netstart vio0\n    | \x1b]0;owned\x07\x1b[2J\n"
            )
        return super().respond(script)


def test_the_plan_shows_a_hosts_control_characters_escaped(fleet: Fleet, bsdprov: Run) -> None:
    fleet.hosts["web01"] = HostileHost("web01")
    code, out, _ = bsdprov("plan", "--host", "web01")
    assert code == ExitCode.OK
    assert "\x1b" not in out and "\r" not in out and "\x07" not in out
    assert "-192.0.2.99 \\x1b[2J\\x1b[1A\\x1b[2K\\x0d== web01: no changes\\x07\n" in out


def test_a_failure_and_the_verbose_journal_show_them_escaped(fleet: Fleet, bsdprov: Run) -> None:
    fleet.hosts["web01"] = HostileHost("web01")
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes", "--verbose")
    assert code == ExitCode.ROLLED_BACK
    assert "\x1b" not in report(out) and "\x07" not in report(out)
    assert "\\x1b]0;owned\\x07\\x1b[2J" in out


def test_json_keeps_the_bytes_as_json_escapes(fleet: Fleet, bsdprov: Run) -> None:
    fleet.hosts["web01"] = HostileHost("web01")
    code, out, _ = bsdprov("plan", "--host", "web01", "--json")
    assert code == ExitCode.OK and "\x1b" not in out
    assert "\\u001b[2J" in out, "JSON escapes them itself, and a reader gets the bytes back"


def test_tabs_and_line_ends_stay_as_they_are() -> None:
    assert terminal_safe("a\tb\nc\x7f\x9b") == "a\tb\nc\\x7f\\x9b"


def test_a_carriage_return_inside_a_line_keeps_the_line_whole_in_the_diff() -> None:
    from bsdprov.plan import FileChange, ObservedFile, file_diff

    before = ObservedFile("/etc/mygate", "192.0.2.1\rx\n", 0o644, "root", "wheel")
    change = FileChange("/etc/mygate", before, "192.0.2.1\n", 0o644, "root", "wheel")
    diff = file_diff("web01", change)
    assert "-192.0.2.1\rx\n+192.0.2.1\n" in diff and "No newline" not in diff
