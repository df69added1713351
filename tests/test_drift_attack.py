"""Attacks on live drift (issue 13): repairs that must not run, formats the real tools print."""

from __future__ import annotations

from pathlib import Path

from bsdprov.apply import DeployOptions, uplink_hold
from bsdprov.drift import Drift
from bsdprov.inventory import load_inventory
from bsdprov.plan import ObservedFile, PlanOptions, plan_host
from bsdprov.render import file_content, render_host
from bsdprov.render.base import Rendered

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")


def _applied(rendered: Rendered) -> dict[str, ObservedFile]:
    return {
        s.path: ObservedFile(s.path, file_content(s, None), s.mode, s.owner, s.group)
        for s in rendered.files
    }


def test_drift_on_a_held_uplink_is_noted_not_repaired() -> None:
    """A hypervisor's uplink file is held without --uplink (every VM hangs on it): a drift
    whose repair is that file's steps (``ifconfig em0 -inet``, ``netstart em0``) must not
    bounce the uplink either; with the file held, re-running it could not even repair it."""
    hv1 = EXAMPLE.hosts["hv1"]
    rendered = render_host(hv1, "openbsd", guests=())
    hold = uplink_hold(hv1, DeployOptions())
    drift = (Drift("address 192.0.2.99 on em0 not in the files", ("/etc/hostname.em0",)),)
    plan = plan_host(rendered, _applied(rendered), options=PlanOptions(hold=hold), drift=drift)
    assert not any("em0" in step.argv for step in plan.steps), plan.steps
    assert not plan.has_changes
    assert any("192.0.2.99" in note and "left as it is" in note for note in plan.notes)
    # With --uplink, the same drift is repaired.
    plan = plan_host(rendered, _applied(rendered), options=PlanOptions(), drift=drift)
    assert ("sh", "/etc/netstart", "em0") in [s.argv for s in plan.steps]
