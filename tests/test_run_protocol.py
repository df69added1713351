"""The on-host run protocol (bsdprov/run.py) against txn.sh, its other half, and golden specs of
every parser of txn.sh's replies (tests/specs/run/PARSER/CASE: reply.txt in, expected.txt out;
``pytest --update-specs`` rewrites them for review)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bsdprov.errors import ProbeError
from bsdprov.render.base import Step
from bsdprov.run import (
    FINAL_STATES,
    RunState,
    parse_backup,
    parse_history,
    parse_resume,
    parse_start,
)
from tests.specs import SPECS, case_id

TXN = (Path(__file__).parents[1] / "bsdprov" / "remote" / "txn.sh").read_text()
WRITTEN = set(RunState) - {RunState.NONE, RunState.UNKNOWN}


def test_the_states_txn_sh_writes_are_the_enums() -> None:
    # set_state STATE and finish STATE are the only writers of RUN/state.
    code = "\n".join(line for line in TXN.splitlines() if not line.lstrip().startswith("#"))
    written = set(re.findall(r"\b(?:set_state|finish) ([a-z-]+)", code))
    assert written == {str(s) for s in WRITTEN}


def test_txn_sh_final_states_are_the_enums() -> None:
    final = re.search(r'^FINAL="([^"]*)"$', TXN, re.M)
    assert final is not None
    assert set(final.group(1).split()) == {str(s) for s in FINAL_STATES}


def test_txn_sh_header_lists_the_enums_states() -> None:
    header = re.search(r"^# States \(bsdprov/run.py RunState\):(.*?)\.", TXN, re.M | re.S)
    assert header is not None, "txn.sh's header lists the states"
    words = header.group(1).replace("#", " ").replace(";", " ").replace("final:", " ").split()
    assert set(words) == {str(s) for s in RunState} - {RunState.UNKNOWN}


def test_txn_sh_reads_a_missing_state_as_none() -> None:
    assert f"STATE={RunState.NONE}" in TXN.replace("|| STATE=none", "STATE=none")


def steps_text(steps: tuple[Step, ...] | None) -> str:
    if steps is None:
        return "  (none recorded)\n"
    return "".join(f"  {'- ' if s.may_fail else ''}{' '.join(s.argv)}\n" for s in steps)


def described_start(reply: bytes) -> str:
    answer = parse_start(reply.decode("utf-8", "surrogateescape"))
    return (
        f"state: {answer.state}\nreason: {answer.reason}\nalive: {answer.alive}\n"
        f"exit: {answer.exit}\nstderr: {list(answer.stderr)}\nerror: {answer.error}\n"
        f"free_kb: {answer.free_kb}\nnot_started: {answer.not_started}\n"
        f"exit_detail: {answer.exit_detail}\njournal:\n{answer.journal}"
    )


def described_resume(reply: bytes) -> str:
    state, reason, left = parse_resume(reply.decode("utf-8", "surrogateescape"))
    return f"state: {state}\nreason: {reason}\nremaining: {list(left)}\n"


def described_history(reply: bytes) -> str:
    return "".join(f"{record}\n" for record in parse_history(reply.decode()))


def described_backup(reply: bytes) -> str:
    try:
        parsed = parse_backup(reply, "h1")
    except ProbeError as exc:
        return f"error: {exc}\n"
    if parsed is None:
        return "no such run\n"
    files = "".join(
        f"  {f.path}: {'absent' if f.content is None else repr(f.content)}"
        f"{'' if f.mode is None else f' {f.mode:o} {f.owner}:{f.group}'}\n"
        for f in parsed.backup.files.values()
    )
    return (
        f"os: {parsed.backup.os} {parsed.backup.release}\nfiles:\n{files}"
        f"steps:\n{steps_text(parsed.steps)}checks:\n{steps_text(parsed.checks)}"
        f"undo-steps:\n{steps_text(parsed.undo_steps)}"
        f"undo-checks:\n{steps_text(parsed.undo_checks)}"
    )


PARSERS: dict[str, Callable[[bytes], str]] = {
    "start": described_start,
    "resume": described_resume,
    "history": described_history,
    "backup": described_backup,
}
CASES = sorted(p.parent for p in (SPECS / "run").rglob("reply.txt"))


def test_every_parser_has_specs() -> None:
    assert {c.parent.name for c in CASES} == set(PARSERS)


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_reply_parsers(case: Path, update_specs: bool) -> None:
    described = PARSERS[case.parent.name]((case / "reply.txt").read_bytes())
    expected = case / "expected.txt"
    if update_specs:
        expected.write_text(described)
    assert described == expected.read_text()
