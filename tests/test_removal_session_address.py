"""Attack on issue 13: a removal must not take away the address bsdprov connects through.

The guard against a deploy that drops the management address looked only at the interfaces the
inventory still declares; an interface dropped whole (its record names it) has its addresses
deleted and is brought down by the removals, and the session's address went with it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bsdprov.apply import DeployOptions, deploy_one, plan_outcome
from bsdprov.drift import Command, Output
from bsdprov.errors import ApplyError
from bsdprov.facts import ObservedFile
from bsdprov.inventory import parse_inventory
from bsdprov.model import Host
from bsdprov.ownership import RECORD, claim, owned_items, record_text, session_address_removal
from bsdprov.render import render_host
from bsdprov.session import CommandResult
from bsdprov.testing import FakeTransport, answer
from tests.test_drift import applied, probe_reply

OLD = """
hosts:
  gw:
    os: openbsd
    address: 192.0.2.10
    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    interfaces:
      vio0: {addresses: [192.0.2.10/24]}
      vio1: {addresses: [198.51.100.20/24]}
"""
# v2 forgets vio0 (say, a copy-paste of another host's entry) but still connects through
# 192.0.2.10.
NEW = """
hosts:
  gw:
    os: openbsd
    address: 192.0.2.10
    host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    interfaces:
      vio1: {addresses: [198.51.100.20/24]}
"""


def parsed(text: str) -> Host:
    return parse_inventory(text, "inventory.yaml").hosts["gw"]


def recorded_reply(old: Host, outputs: dict[Command, Output]) -> Callable[[str], CommandResult]:
    """The probe's answer of a host ``old``'s deploy left: its files, its ownership record, and
    ``outputs`` for the live commands."""
    rendered = render_host(old)
    record = record_text(owned_items(old, rendered))
    entry = f"file {len(record.encode())} -rw------- root wheel {RECORD}\n{record}\n"

    def reply(script: str) -> CommandResult:
        head, last = probe_reply(rendered, outputs, script).rstrip("\n").rsplit("\n", 1)
        return answer(head + "\n" + entry + last + "\n", "", 0)

    return reply


# The host as OLD's deploy left it, vio0 showing 192.0.2.10.
OUTPUTS = {
    **applied("openbsd"),
    ("ifconfig", "vio0"): Output(
        (
            "vio0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500",
            "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255",
        ),
        0,
    ),
}
reply = recorded_reply(parsed(OLD), OUTPUTS)


def test_dropping_the_interface_of_the_session_address_is_refused() -> None:
    host = parsed(NEW)
    fake = FakeTransport(respond=reply)
    outcome = plan_outcome(fake, host)
    assert outcome.plan is not None
    removed = [" ".join(s.argv) for r in outcome.plan.removals for s in r.steps]
    assert "ifconfig vio0 inet 192.0.2.10 delete" in removed  # the record names it
    assert any("removes 192.0.2.10 from vio0" in w for w in outcome.warnings), outcome.warnings
    sessions: list[FakeTransport] = []

    def connect(h: Host) -> FakeTransport:
        sessions.append(FakeTransport(respond=reply))
        return sessions[-1]

    with pytest.raises(ApplyError, match="nothing was changed"):
        deploy_one(connect, host, "R1", DeployOptions())
    assert all(s.uploads == [] for s in sessions)


def test_a_dropped_vlan_carrying_the_session_address_is_refused_too() -> None:
    old = parsed(
        OLD.replace(
            "vio1: {addresses: [198.51.100.20/24]}",
            "vio1: {up: true}\n      vlan5: {parent: vio1, vlan: 5, addresses: [198.51.100.20/24]}",
        )
    )
    new = parsed(
        NEW.replace("192.0.2.10\n", "198.51.100.20\n", 1).replace(
            "vio1: {addresses: [198.51.100.20/24]}", "vio0: {addresses: [192.0.2.10/24]}"
        )
    )
    rendered = render_host(old)
    record = record_text(owned_items(old, rendered))
    observed = {RECORD: ObservedFile(RECORD, record, 0o600, "root", "wheel")}
    claimed = claim(new, render_host(new), observed)
    assert ["ifconfig", "vlan5", "destroy"] in [
        list(s.argv) for r in claimed.removals for s in r.steps
    ]
    assert session_address_removal(claimed.removals, observed, "198.51.100.20") == "vlan5"
    assert session_address_removal(claimed.removals, observed, "192.0.2.10") is None
