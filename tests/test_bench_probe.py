"""The floor running bsdprov's probe: the hosts' share of a no-change plan (issue 12)."""

from __future__ import annotations

import pytest
import yaml

from bench.stats import (
    FLOOR,
    NO_CHANGE,
    PROBE,
    READ,
    Sample,
    probe_share,
    render_results,
    summarise,
)
from bench.task import bench_inventory, probe_scripts
from bsdprov.apply import gather
from bsdprov.errors import ProbeError
from bsdprov.inventory import parse_inventory
from bsdprov.testing import FakeTransport, answer
from tests.test_bench import LAB


def test_the_floor_runs_the_very_script_a_plan_sends() -> None:
    text = yaml.safe_dump(bench_inventory(LAB, ["lab01", "lab02"]))
    scripts = probe_scripts(text)
    assert list(scripts) == ["lab01", "lab02"]
    inventory = parse_inventory(text, "bench inventory")
    for name, script in scripts.items():
        session = FakeTransport([answer("not a probe reply")])
        with pytest.raises(ProbeError):  # the answer is no probe reply; the script is sent
            gather(session, inventory.hosts[name])
        assert session.scripts == [script]
        assert "BSDPROV-PROBE-END" in script


def test_results_say_what_the_probe_costs_and_what_is_left_to_the_controller() -> None:
    summaries = summarise(
        [
            Sample(FLOOR, 20, READ, 0.5, 44, 1, 1),
            Sample(FLOOR, 20, PROBE, 0.9, 44, 1, 1),
            Sample("bsdprov plan", 20, NO_CHANGE, 1.08, 60, 1, 1),
        ]
    )
    share = probe_share(summaries)
    assert share is not None
    assert "takes 1.80× the floor's time; bsdprov plan takes 1.20× that" in share
    text = render_results(summaries, "m", "v", "", "c")
    assert f"- {share}" in text
    assert "| paramiko floor | bsdprov's probe | 0.90 |" in text
    assert probe_share(summarise([Sample(FLOOR, 20, READ, 0.5, 44, 1, 1)])) is None
