"""A plan's own CPU: each host is rendered once for its probe (whose renderings the live drift
reuses) and once for the release the host runs (issue 12)."""

from __future__ import annotations

import pytest

from bsdprov import apply
from bsdprov.apply import DeployOptions, plan_one
from bsdprov.render import Rendered, render_host
from bsdprov.testing import FakeTransport, answer
from tests.test_drift import applied, host, probe_reply


def test_a_plan_renders_the_host_twice_not_three_times(monkeypatch: pytest.MonkeyPatch) -> None:
    h = host("openbsd")
    rendered = render_host(h)
    session = FakeTransport(
        respond=lambda script: answer(probe_reply(rendered, applied("openbsd"), script), "", 0)
    )
    calls: list[str | None] = []

    def counted(*args: object, **kwargs: object) -> Rendered:
        calls.append(str(args[1]) if len(args) > 1 else None)
        return render_host(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(apply, "render_host", counted)
    plan, facts = plan_one(session, h, (), DeployOptions())
    assert len(calls) == 2
    # Same plan as before: nothing to change, nothing drifted.
    assert not plan.has_changes and plan.drift == ()
    assert facts.os == "openbsd"
