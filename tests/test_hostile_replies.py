"""Issue 11, controller side: a host's reply, however malformed, is that host's ``ProbeError``;
the other hosts' outcomes are always printed.

Every parser of what a host prints is fed random bytes and random lines built from its own
vocabulary (hypothesis); nothing but ``ProbeError`` may come out.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsdprov.apply import (
    DeployOptions,
    deploy_one,
    history_one,
    rollback_plan,
)
from bsdprov.errors import ProbeError
from bsdprov.facts import parse_facts, parse_mode
from bsdprov.fleet import run_fleet
from bsdprov.inventory import load_inventory
from bsdprov.render.base import Check
from bsdprov.run import parse_state, parse_steps
from bsdprov.session import CommandResult
from bsdprov.testing import FakeTransport, answer
from bsdprov.verify import MARK, parse_verify

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")
OBSD1 = EXAMPLE.hosts["obsd1"]
HEAD = "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
CHECKS = (Check(("ifconfig", "vio0"), "inet 192\\.0\\.2\\.1 ", "address"),) * 3
RUN_ID = "20261123T151733Z-e33f37"

# Lines a hostile or broken host might print, made of the parsers' own words.
WORDS = st.sampled_from(
    [
        "file",
        "absent",
        "other",
        "run",
        "lock",
        "exists",
        "uname",
        "BSDPROV-PROBE 1",
        "BSDPROV-PROBE-END",
        MARK,
        f"{MARK}-RC",
        "-1",
        "99999999999",
        "1e3",
        "١٢",  # Arabic-Indic digits: str.isdecimal() says yes, int() too, but no host prints them
        "-rw-r--r--",
        "-rwS",
        "root",
        "wheel",
        "/etc/rc.conf",
        "'",
        '"',
        "state=applied",
        "journal:",
        "\t",
        "",
    ]
)
LINES = st.lists(st.lists(WORDS, max_size=7).map(" ".join), max_size=12).map("\n".join)
BYTES = st.binary(max_size=400)


def ok(stdout: str) -> CommandResult:
    return answer(stdout)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(LINES.map(lambda t: (HEAD + t).encode()), BYTES, LINES.map(str.encode)))
def test_the_facts_parser_raises_only_probe_error(output: bytes) -> None:
    with contextlib.suppress(ProbeError):
        parse_facts(output, "h")


@settings(max_examples=300)
@given(st.one_of(LINES, BYTES.map(lambda b: b.decode("latin-1"))))
def test_the_verify_parser_raises_only_probe_error(output: str) -> None:
    with contextlib.suppress(ProbeError):
        parse_verify(output, CHECKS, "h")


@settings(max_examples=300)
@given(st.one_of(LINES, BYTES.map(lambda b: b.decode("latin-1"))))
def test_state_history_and_step_readers_raise_only_probe_error(output: str) -> None:
    parse_state(output)
    history_one(FakeTransport([ok(output)]))
    with contextlib.suppress(ProbeError):
        parse_steps(output)


@settings(max_examples=200)
@given(st.text(max_size=12))
def test_any_permissions_string_is_a_mode_or_a_probe_error(text: str) -> None:
    with contextlib.suppress(ProbeError):
        parse_mode(text)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(LINES)
def test_a_rollback_reading_a_hostile_backup_raises_only_bsdprov_errors(text: str) -> None:
    backup = HEAD + text + "\nBSDPROV-PROBE-END\nsteps:\n" + text + "\nchecks:\n" + text + "\n"
    observed = HEAD + "BSDPROV-PROBE-END\n"
    with contextlib.suppress(ProbeError):
        rollback_plan(FakeTransport([ok(backup), ok(observed)]), OBSD1, RUN_ID)


@pytest.mark.parametrize(
    "output",
    [
        HEAD + "file x -rw-r--r-- root wheel /etc/rc.conf\nabc\nBSDPROV-PROBE-END\n",
        HEAD + "file -5 -rw-r--r-- root wheel /etc/rc.conf\nabc\nBSDPROV-PROBE-END\n",
        HEAD + "file 99 -rw-r--r-- root wheel /etc/rc.conf\nabc\nBSDPROV-PROBE-END\n",
        HEAD + "file 3 -rw root wheel /etc/rc.conf\nabc\nBSDPROV-PROBE-END\n",
    ],
    ids=["size-not-a-number", "negative-size", "size-beyond-the-output", "short-mode"],
)
def test_a_malformed_file_record_is_the_hosts_probe_error(output: str) -> None:
    with pytest.raises(ProbeError):
        parse_facts(output.encode(), "h")


def test_a_verify_marker_without_a_number_is_a_probe_error() -> None:
    with pytest.raises(ProbeError, match="cut short"):
        parse_verify(f"{MARK} x\n{MARK}-RC 0\n", CHECKS[:1], "h")


def test_one_hosts_malformed_probe_leaves_every_other_outcome_reported() -> None:
    """Before: ``int('x')`` in the probe parser escaped the fleet as ValueError and the report
    of the hosts already changed was never printed."""
    bad = HEAD + "file x -rw-r--r-- root wheel /etc/hostname.vio0\nabc\nBSDPROV-PROBE-END\n"
    fine = HEAD + "absent /etc/hostname.vio0\nabsent /etc/mygate\nBSDPROV-PROBE-END\n"
    applied = "state=applied\nreason=applied without a confirm timer\njournal:\n"
    fakes = {
        "a": [FakeTransport([ok(fine), ok(applied)])],
        "b": [FakeTransport([ok(bad)])],
        "c": [FakeTransport([ok(fine), ok(applied)])],
    }

    def connect_for(name: str) -> object:
        return lambda host: fakes[name].pop(0)

    def action(name: str) -> object:
        host = OBSD1.model_copy(update={"name": name})
        return deploy_one(connect_for(name), host, RUN_ID, DeployOptions(confirm=False))  # type: ignore[arg-type]

    outcomes = run_fleet(["a", "b", "c"], action, parallel=3)  # type: ignore[arg-type]
    assert [o.status for o in outcomes] == ["changed", "failed", "changed"]
    assert outcomes[1].reason.startswith("host 'b': unexpected probe line")


def test_an_unexpected_error_in_one_host_is_its_own_outcome() -> None:
    def action(name: str) -> object:
        if name == "b":
            raise ValueError("boom")
        from bsdprov.outcome import Outcome

        return Outcome(name, "changed")

    outcomes = run_fleet(["a", "b", "c"], action, parallel=2)  # type: ignore[arg-type]
    assert [o.status for o in outcomes] == ["changed", "failed", "changed"]
    assert outcomes[1].reason.startswith("internal error: ValueError: boom")


def test_rollback_refuses_a_run_id_not_in_the_generated_form() -> None:
    session = FakeTransport([])
    for bad in ["x ] || { touch /tmp/p; }", "../../..", "", RUN_ID + "\n"]:
        with pytest.raises(Exception, match="is not a run id"):
            rollback_plan(session, OBSD1, bad)
    assert session.scripts == [], "nothing ran on the host"


def test_host_supplied_run_ids_are_quoted_in_scripts() -> None:
    """A run directory name read from the host goes back into a script quoted."""
    evil = "x;touch${IFS}p"  # a directory name: no slash (run_dir refuses one)
    probe = HEAD + f"absent /etc/hostname.vio0\nrun {evil} activating dead\nBSDPROV-PROBE-END\n"
    answers = [
        probe,
        "state=rolled-back\n",
        probe.replace("activating", "rolled-back"),
        "state=applied\n",
    ]
    session = FakeTransport([ok(a) for a in answers])
    deploy_one(lambda h: session, OBSD1, RUN_ID, DeployOptions())
    rollback = session.scripts[1]
    assert f"'/var/db/bsdprov/runs/{evil}/txn.sh' rollback '{evil}'" in rollback
