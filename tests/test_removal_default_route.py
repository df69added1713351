"""Attack on issue 13: a removal that deletes the default route can cut the session of a
controller outside the host's networks. The plan warns; with --no-confirm (no timer to bring
the route back) the deploy is refused before anything changes."""

from __future__ import annotations

import pytest

from bsdprov.apply import DeployOptions, deploy_one, plan_outcome
from bsdprov.errors import ApplyError
from bsdprov.inventory import parse_inventory
from bsdprov.model import Host
from bsdprov.testing import FakeTransport
from tests.test_drift import applied
from tests.test_removal_session_address import recorded_reply

OLD = """
hosts:
  gw:
    os: openbsd
    address: 192.0.2.10
    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    interfaces:
      vio0: {addresses: [192.0.2.10/24]}
    routes:
      - {to: default, via: 192.0.2.1}
"""
NEW = OLD.replace("    routes:\n      - {to: default, via: 192.0.2.1}\n", "    routes: []\n")


def parsed(text: str) -> Host:
    return parse_inventory(text, "inventory.yaml").hosts["gw"]


# The host as OLD's deploy left it, with its ownership record.
reply = recorded_reply(parsed(OLD), applied("openbsd"))


def test_the_plan_warns_that_the_default_route_goes() -> None:
    outcome = plan_outcome(FakeTransport(respond=reply), parsed(NEW))
    assert outcome.plan is not None
    removed = [" ".join(s.argv) for r in outcome.plan.removals for s in r.steps]
    assert any("delete" in c and "default" in c for c in removed), removed
    assert any("only the confirmation timer brings the route back" in w for w in outcome.warnings)


def test_without_the_timer_the_deploy_is_refused_before_anything_changes() -> None:
    sessions: list[FakeTransport] = []

    def connect(h: Host) -> FakeTransport:
        sessions.append(FakeTransport(respond=reply))
        return sessions[-1]

    with pytest.raises(ApplyError, match="--no-confirm turns that timer off.*nothing was changed"):
        deploy_one(connect, parsed(NEW), "R1", DeployOptions(confirm=False))
    assert all(s.uploads == [] for s in sessions)
