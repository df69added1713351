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
    with pytest.raises(UsageError, match="name the hosts"):
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
