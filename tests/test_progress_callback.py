"""A progress callback that raises (issue 17): it is the caller's display, so its bug neither
ends the rollout nor loses the outcomes already known. Each host still runs; the failure is
logged and recorded on the host's outcome as a warning; BSDPROV_TRACEBACK=1 lets it out."""

from __future__ import annotations

import logging

import pytest

from bsdprov import api
from tests import test_tasks_api
from tests.test_tasks_api import INVENTORY, RUN, Fleet

fleet = test_tasks_api.fleet


def broken(event: api.HostProgress) -> None:
    raise RuntimeError(f"display gone on {event.host}")


def connect(fleet: Fleet) -> api.Connector:
    return lambda host: fleet.hosts[host.name].connect()


def test_a_raising_callback_leaves_every_deploy_outcome_with_a_warning(
    fleet: Fleet, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BSDPROV_TRACEBACK", raising=False)
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    with caplog.at_level(logging.WARNING, logger="bsdprov"):
        outcomes = api.deploy(
            INVENTORY,
            ["web01", "obsd1"],
            rollout=api.Rollout(progress=broken, run_id=lambda: RUN, parallel=1),
            connect=connect(fleet),
        )
    assert [(o.host, o.status) for o in outcomes] == [("web01", "changed"), ("obsd1", "unchanged")]
    for outcome in outcomes:
        assert outcome.warnings[-1] == (
            "the progress callback failed on this host's result: "
            f"RuntimeError: display gone on {outcome.host}"
        )
    assert fleet.hosts["obsd1"].sessions, "the host after the failing callback still ran"
    logged = [r for r in caplog.records if r.name == "bsdprov"]
    assert len(logged) == 2 and all(r.exc_info for r in logged), "logged with its traceback"


def test_skipped_hosts_of_a_stopped_rollout_keep_their_outcome_too(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BSDPROV_TRACEBACK", raising=False)
    fleet.add("web01", reachable=False)
    fleet.add("obsd1")
    outcomes = api.deploy(
        INVENTORY,
        ["web01", "obsd1"],
        rollout=api.Rollout(progress=broken, run_id=lambda: RUN, serial=1),
        connect=connect(fleet),
    )
    assert [o.status for o in outcomes] == ["unreachable", "skipped"]
    assert all("progress callback failed" in o.warnings[-1] for o in outcomes)


@pytest.mark.parametrize("call", [api.verify, api.history, api.plan])
def test_read_only_calls_return_every_report(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch, call: object
) -> None:
    monkeypatch.delenv("BSDPROV_TRACEBACK", raising=False)
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    reports = call(  # type: ignore[operator]
        INVENTORY, ["web01", "obsd1"], rollout=api.Rollout(progress=broken), connect=connect(fleet)
    )
    assert [r.host for r in reports] == ["web01", "obsd1"]


def test_with_bsdprov_traceback_the_error_comes_out(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BSDPROV_TRACEBACK", "1")
    fleet.add("obsd1", in_sync=True)
    with pytest.raises(RuntimeError, match="display gone on obsd1"):
        api.plan(INVENTORY, ["obsd1"], rollout=api.Rollout(progress=broken), connect=connect(fleet))


def test_verify_and_history_tell_progress_each_hosts_report(fleet: Fleet) -> None:
    fleet.add("web01")
    fleet.add("obsd1", reachable=False)
    seen: list[api.HostProgress] = []
    api.verify(
        INVENTORY,
        ["web01", "obsd1"],
        rollout=api.Rollout(progress=seen.append),
        connect=connect(fleet),
    )
    by_host = {event.host: event for event in seen}
    assert by_host["web01"].outcome.status == "unchanged"
    assert isinstance(by_host["web01"].report, api.HostChecks) and by_host["web01"].report.passed
    assert by_host["obsd1"].outcome.status == "unreachable"
    assert sorted(event.finished for event in seen) == [1, 2]
