"""Every outcome the controller reports matches what the host said (issue 11, items 11, 12):
a run that never started, a start that stopped half-way, a host that answered but never
decided, a host that never answered; the probe names missing tools and refuses huge files."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from bsdprov.apply import DeployOptions, deploy_one, plan_outcome
from bsdprov.errors import ApplyError, ConnectError, ProbeError
from bsdprov.facts import MAX_FILE_BYTES, parse_facts, probe_script
from bsdprov.run import clean_uploads_script, parse_start
from bsdprov.session import CommandResult
from bsdprov.testing import FakeClock, FakeTransport, answer
from tests.test_apply import FRESH_OPENBSD, OBSD1, Connections, ok


def start_answer(
    state: str, *, alive: str = "no", exit: int = 0, stderr: str = "", free: int = 5000
) -> CommandResult:
    said = "".join(f"start-stderr={line}\n" for line in stderr.splitlines())
    return ok(
        f"state={state}\nreason=\nalive={alive}\njournal:\nstart-exit={exit}\n{said}"
        f"state-dir-free={free}\n"
    )


def test_a_full_state_directory_is_reported_as_such_not_as_unreachable() -> None:
    full = "start-error=no space left on /var/db/bsdprov (0 KB free): cannot copy the run there\n"
    first = FakeTransport([ok(FRESH_OPENBSD), ok(full)])
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert outcome.status == "failed"
    assert outcome.reason == (
        "the run did not start on the host: no space left on /var/db/bsdprov (0 KB free): "
        "cannot copy the run there"
    )


def test_a_start_that_never_began_fails_at_once_with_its_own_error() -> None:
    answer = start_answer("none", exit=127, stderr="sh: 1: nohup: not found")
    first = FakeTransport([ok(FRESH_OPENBSD), answer])
    started = time.monotonic()
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert time.monotonic() - started < 5, "no confirmation is waited for"
    assert outcome.status == "failed"
    assert outcome.reason == (
        "the run did not start on the host: a command is missing on the host (exit 127): "
        "sh: 1: nohup: not found"
    )


def test_a_start_unable_to_record_anything_names_the_full_state_directory() -> None:
    answer = start_answer("none", exit=1, stderr="txn: run R1 failed (not recorded)", free=0)
    first = FakeTransport([ok(FRESH_OPENBSD), answer])
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert outcome.status == "failed"
    assert outcome.reason.startswith(
        "the run did not start on the host: no space left on /var/db/bsdprov (0 KB free)"
    )


def test_a_start_that_stopped_half_way_is_rolled_back_at_once() -> None:
    rolled = ok("state=rolled-back\nreason=txn.sh start stopped at state installed\njournal:\n")
    first = FakeTransport([ok(FRESH_OPENBSD), start_answer("installed", exit=137), rolled])
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert outcome.status == "rolled-back"
    assert (
        "txn.sh rollback R1 'txn.sh start stopped at state installed (exit 137)"
        in (first.scripts[-1])
    )


def test_a_host_that_answers_but_never_decides_is_not_called_unreachable() -> None:
    dropped = ConnectError("connection lost", host="obsd1", cause="other")
    first = FakeTransport([ok(FRESH_OPENBSD), dropped])
    # One new connection a second until the deadline: 30 s timer, 120 s step, 15 s grace.
    later = [
        FakeTransport(respond=lambda script: ok("state=activating\nreason=\n")) for _ in range(165)
    ]
    connections = Connections(first, *later)
    options = DeployOptions(confirm_timeout=30, clock=FakeClock())
    outcome = deploy_one(connections, OBSD1, "R1", options)
    assert outcome.status == "failed"
    assert outcome.reason == (
        "the host answered, but run R1 stayed in state activating and was not confirmed; its "
        "timer rolls it back 30s after it was armed"
    )


def test_no_timer_is_promised_when_none_was_armed() -> None:
    dropped = ConnectError("connection lost", host="obsd1", cause="other")
    first = FakeTransport([ok(FRESH_OPENBSD), dropped])
    refused = ConnectError("connection refused", host="obsd1", cause="refused")

    def connect(host: object) -> FakeTransport:
        if first.scripts:
            raise refused
        return first

    outcome = deploy_one(connect, OBSD1, "R1", DeployOptions(confirm=False, clock=FakeClock()))
    assert outcome.status == "unreachable"
    assert "no timer was armed (--no-confirm)" in outcome.reason
    assert "rolls it back" not in outcome.reason


def test_a_missing_tool_refuses_the_deploy_and_warns_in_the_plan() -> None:
    probe = FRESH_OPENBSD.replace("BSDPROV-PROBE-END", "missing nohup\nBSDPROV-PROBE-END")
    with pytest.raises(ApplyError, match=r"lacks commands a run needs: nohup \(looked for in /"):
        deploy_one(Connections(FakeTransport([ok(probe)])), OBSD1, "R1", DeployOptions())
    planned = plan_outcome(FakeTransport([ok(probe)]), OBSD1)
    assert "the host lacks nohup, which a deploy needs" in planned.warnings


def test_a_huge_file_is_refused_naming_it_and_its_size() -> None:
    probe = FRESH_OPENBSD.replace(
        "absent /etc/mygate\n", f"toolarge {54 * 2**20} /etc/mygate\n"
    ).encode()
    with pytest.raises(ProbeError, match=r"'obsd1': /etc/mygate is 54.0 MiB \(56623104 bytes\)"):
        parse_facts(probe, "obsd1")


@pytest.mark.onhost
@pytest.mark.parametrize("shell", ["dash", "mksh"])
def test_the_probe_never_reads_a_huge_file(shell: str, tmp_path: Path) -> None:
    huge = tmp_path / "rc.conf"
    huge.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    out = subprocess.run(
        [shell], input=probe_script([str(huge)]).encode(), capture_output=True, check=True
    ).stdout
    assert f"toolarge {MAX_FILE_BYTES + 1} {huge}\n".encode() in out
    assert len(out) < 4096


@pytest.mark.onhost
def test_a_killed_upload_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    uploads = tmp_path / "upload"
    stale, fresh, own = uploads / "R0", uploads / "R9", uploads / "R1"
    for directory in (stale, fresh, own):
        (directory / "files").mkdir(parents=True)
    subprocess.run(["touch", "-d", "10 minutes ago", str(stale), str(own)], check=True)
    script = clean_uploads_script(str(uploads), "R1")
    subprocess.run(["dash", "-c", script], check=True)
    assert sorted(p.name for p in uploads.iterdir()) == ["R1", "R9"], (
        "the stale upload goes; this run's and a concurrent fresh one stay"
    )


def test_the_start_answer_keeps_the_journal_apart_from_starts_own_lines() -> None:
    answer = parse_start(
        "state=failed\nreason=r\nalive=no\njournal:\nline 1\nline 2\nstart-exit=1\n"
        "start-stderr=txn: x\nstate-dir-free=12\n"
    )
    assert (answer.journal, answer.exit, answer.stderr, answer.free_kb) == (
        "line 1\nline 2\n",
        1,
        ("txn: x",),
        12,
    )


def test_a_start_script_that_failed_outright_shows_its_error() -> None:
    failed = answer("", "mkdir: /var/db/bsdprov/runs: Read-only file system\n", 1)
    first = FakeTransport([ok(FRESH_OPENBSD), failed])
    outcome = deploy_one(Connections(first), OBSD1, "R1", DeployOptions())
    assert outcome.status == "failed"
    assert outcome.reason == (
        "the run did not start on the host: txn.sh start recorded no state; nothing was changed "
        "(mkdir: /var/db/bsdprov/runs: Read-only file system)"
    )


def test_a_command_the_steps_need_is_named_and_one_they_do_not_need_is_not() -> None:
    probe = FRESH_OPENBSD.replace("BSDPROV-PROBE-END", "missing {}\nBSDPROV-PROBE-END")
    fake = FakeTransport([ok(probe.format("ifconfig"))])
    with pytest.raises(ApplyError, match=r"lacks commands a run needs: ifconfig \("):
        deploy_one(Connections(fake), OBSD1, "R1", DeployOptions())
    assert "ifconfig" in fake.scripts[0].split("for t in ")[1].split(";")[0]
    unused = FakeTransport(
        [ok(probe.format("vmctl")), ok(start_answer("none", exit=127).stdout_text)]
    )
    outcome = deploy_one(Connections(unused), OBSD1, "R1", DeployOptions())
    assert "lacks commands" not in outcome.reason, "vmctl is not needed by this plan"
