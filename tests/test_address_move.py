"""Moving the address bsdprov connects through, with a fake transport: which address each
connection goes to, what the plan says, and what is refused."""

from __future__ import annotations

import pytest

from bsdprov.apply import DeployOptions, deploy_one, plan_outcome
from bsdprov.errors import ApplyError, ConnectError
from bsdprov.inventory import parse_inventory
from bsdprov.model import Host
from bsdprov.render import render_host
from bsdprov.session import CommandResult
from bsdprov.testing import FakeClock, FakeTransport, answer
from tests.test_drift import applied, probe_reply

MOVED = """
hosts:
  gw:
    os: openbsd
    address: 192.0.2.20
    {previous}
    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    interfaces:
      vio0: {{addresses: [192.0.2.20/24, "2001:db8::10/64"]}}
      vio1: {{up: true}}
      vlan10: {{parent: vio1, vlan: 10}}
      bridge0: {{members: [vlan10]}}
    routes:
      - {{to: default, via: 192.0.2.1}}
      - {{to: default, via: "2001:db8::1"}}
      - {{to: 10.0.0.0/8, via: 192.0.2.254}}
"""


def moved(previous: str = "previous_address: 192.0.2.10") -> Host:
    return parse_inventory(MOVED.format(previous=previous), "inventory.yaml").hosts["gw"]


def old_host(script: str, host: Host) -> CommandResult:
    """The probe's answer from a host still on 192.0.2.10 (its files as the old inventory)."""
    old = parse_inventory(
        MOVED.format(previous="").replace("192.0.2.20/24", "192.0.2.10/24"), "i.yaml"
    ).hosts["gw"]
    return answer(probe_reply(render_host(old), applied("openbsd"), script), "", 0)


class Network:
    """Connections by address: the ones in ``down`` refuse; the others are fakes answering
    with ``answers`` in turn."""

    def __init__(self, down: set[str], answers: list[str]) -> None:
        self.down = down
        self.answers = answers
        self.tried: list[str | None] = []
        self.sessions: list[FakeTransport] = []

    def __call__(self, host: Host) -> FakeTransport:
        self.tried.append(host.address)
        if host.address in self.down:
            raise ConnectError(f"{host.address}: timed out", host=host.name, cause="timeout")

        def respond(script: str) -> CommandResult:
            if "BSDPROV-PROBE 1" in script:
                return old_host(script, host)
            return answer(self.answers.pop(0), "", 0)

        fake = FakeTransport(respond=respond)
        self.sessions.append(fake)
        return fake


def test_the_probe_falls_back_to_previous_address_and_the_run_is_confirmed_at_the_new_one() -> None:
    network = Network(
        {"192.0.2.20"},
        ["state=awaiting-confirm\nreason=\njournal:\n", "state=applied\nreason=confirmed\n"],
    )
    confirmed: list[str | None] = []

    def connect(host: Host) -> FakeTransport:
        if len(network.tried) >= 2:
            network.down.clear()  # the move took effect: the new address answers
            confirmed.append(host.address)
        return network(host)

    outcome = deploy_one(connect, moved(), "R1", DeployOptions())
    assert outcome.status == "changed", outcome.reason
    assert network.tried == ["192.0.2.20", "192.0.2.10", "192.0.2.20"]
    assert confirmed == ["192.0.2.20"], "never confirmed through the address it leaves"
    assert outcome.plan is not None
    assert any(
        "connected through previous_address 192.0.2.10" in n
        and "confirmed through 192.0.2.20 only" in n
        for n in outcome.plan.notes
    ), outcome.plan.notes


def test_an_authentication_failure_at_the_address_is_not_retried_elsewhere() -> None:
    tried: list[str | None] = []

    def connect(host: Host) -> FakeTransport:
        tried.append(host.address)
        raise ConnectError("auth failed", host=host.name, cause="auth")

    with pytest.raises(ConnectError, match="auth failed"):
        deploy_one(connect, moved(), "R1", DeployOptions())
    assert tried == ["192.0.2.20"]


def test_a_move_that_never_answers_at_the_new_address_reports_the_previous_one() -> None:
    network = Network({"192.0.2.20"}, ["state=awaiting-confirm\nreason=\njournal:\n"])
    network.answers.append("state=awaiting-confirm\nreason=\n")
    options = DeployOptions(confirm_timeout=0, step_timeout=0, clock=FakeClock())
    outcome = deploy_one(network, moved(), "R1", options)
    assert outcome.status == "unreachable", outcome
    assert "read at previous_address 192.0.2.10: run state awaiting-confirm" in outcome.reason
    # The report's connection only read the run's state.
    assert "confirm" not in network.sessions[-1].scripts[0].split("txn.sh")[1]


def test_a_move_rolled_back_by_its_timer_is_reported_so_through_the_previous_address() -> None:
    network = Network(
        {"192.0.2.20"},
        [
            "state=awaiting-confirm\nreason=\njournal:\n",
            "state=rolled-back\nreason=not confirmed within 10s\n",
        ],
    )
    options = DeployOptions(confirm_timeout=10, clock=FakeClock())
    outcome = deploy_one(network, moved(), "R1", options)
    assert outcome.status == "rolled-back", outcome
    assert outcome.reason.startswith("not confirmed within 10s; no new SSH connection")
    assert outcome.reason.endswith("read at previous_address 192.0.2.10: run state rolled-back")


def test_a_deploy_that_removes_the_address_it_connects_through_is_refused() -> None:
    host = moved(previous="").model_copy(update={"address": "192.0.2.10"})
    network = Network(set(), [])
    plan_only = plan_outcome(network(host), host)
    assert any("removes 192.0.2.10 from vio0" in w for w in plan_only.warnings)
    with pytest.raises(ApplyError, match="as 'previous_address'.*nothing was changed"):
        deploy_one(network, host, "R2", DeployOptions())
    assert all(s.uploads == [] for s in network.sessions)
