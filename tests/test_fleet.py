"""Fleet runs: host selection, one host's failure staying its own, and the run's exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import ConnectError, ExitCode, ProbeError, UsageError
from bsdprov.fleet import exit_code, run_fleet, select_hosts
from bsdprov.inventory import load_inventory
from bsdprov.outcome import Outcome

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")


def test_hosts_come_from_exactly_one_selector() -> None:
    assert select_hosts(EXAMPLE, "web01, obsd1", None, False) == ["web01", "obsd1"]
    assert select_hosts(EXAMPLE, None, "dmz", False) == ["web01"]
    assert select_hosts(EXAMPLE, None, None, True) == list(EXAMPLE.hosts)
    with pytest.raises(UsageError, match="give one of --host, --group and --all"):
        select_hosts(EXAMPLE, "web01", "dmz", False)
    with pytest.raises(UsageError, match="no group 'nope'; the groups are failover, dmz"):
        select_hosts(EXAMPLE, None, "nope", False)


def test_an_unknown_host_is_refused_before_anything_runs() -> None:
    with pytest.raises(Exception, match="no host 'web1'; did you mean 'web01'"):
        select_hosts(EXAMPLE, "web01,web1", None, False)


def test_each_host_keeps_its_own_outcome() -> None:
    def action(name: str) -> Outcome:
        if name == "a":
            raise ConnectError("host 'a': connection refused", host="a", cause="refused")
        if name == "b":
            raise ProbeError("host 'b': unsupported system 'Linux'")
        return Outcome(name, "changed")

    outcomes = run_fleet(["a", "b", "c"], action, parallel=3)
    assert [(o.host, o.status) for o in outcomes] == [
        ("a", "unreachable"),
        ("b", "failed"),
        ("c", "changed"),
    ]
    assert outcomes[0].reason == "host 'a': connection refused"


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        (["changed", "unchanged"], ExitCode.OK),
        (["changed", "unreachable"], ExitCode.UNREACHABLE),
        (["unreachable", "rolled-back"], ExitCode.ROLLED_BACK),
        (["rolled-back", "failed", "changed"], ExitCode.FAILED),
    ],
)
def test_the_worst_outcome_sets_the_exit_code(statuses: list[str], code: ExitCode) -> None:
    assert exit_code(Outcome(str(i), s) for i, s in enumerate(statuses)) == code  # type: ignore[arg-type]


def test_serial_batches_stop_after_too_many_failures() -> None:
    started: list[str] = []

    def action(name: str) -> Outcome:
        started.append(name)
        return Outcome(name, "rolled-back" if name in ("a", "b") else "changed")

    seen: list[tuple[str, int, int]] = []
    outcomes = run_fleet(
        list("abcde"),
        action,
        parallel=2,
        serial=2,
        max_fail=1,
        progress=lambda o, n, total: seen.append((o.host, n, total)),
    )
    assert sorted(started) == ["a", "b"], "the second batch never started"
    assert [o.status for o in outcomes] == [
        "rolled-back",
        "rolled-back",
        "skipped",
        "skipped",
        "skipped",
    ]
    assert outcomes[2].reason == "not started: more than 1 host(s) failed in earlier batches"
    assert sorted(h for h, _, _ in seen) == list("abcde"), "skipped hosts are reported too"
    assert {t for _, _, t in seen} == {5} and sorted(n for _, n, _ in seen) == [1, 2, 3, 4, 5]
    assert exit_code(outcomes) == ExitCode.ROLLED_BACK, "the failures decide, not the skips"


def test_serial_batches_go_on_while_failures_stay_within_the_limit() -> None:
    outcomes = run_fleet(
        list("abcd"),
        lambda n: Outcome(n, "failed" if n == "a" else "changed"),
        parallel=4,
        serial=1,
        max_fail=1,
    )
    assert [o.status for o in outcomes] == ["failed", "changed", "changed", "changed"]
