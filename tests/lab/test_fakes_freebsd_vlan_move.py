"""FreeBSD: a vlan moved to another parent (vlans_OLD loses it, vlans_NEW gains it). Both
parents' keys change, so both restart; netif restart NEW's childif_destroy destroys every
existing interface the *new* vlans_NEW names, wherever it hangs, and its childif_create makes
it on NEW: activation agrees with boot (checked in the review of issue 10, no change needed;
OpenBSD needed one, see test_fakes_openbsd_vlan_parent.py). Harness:
``test_fakes_freebsd_fidelity.py``."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host
from tests.lab.test_fakes_freebsd_fidelity import BASE, boot, deploy, inventory

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host

ON = (
    "{{vtnet0: {{addresses: [192.0.2.10/24]}}, vtnet1: {{up: true}}, vtnet2: {{up: true}},"
    " vlan10: {{parent: {parent}, vlan: 10, addresses: [10.10.0.1/24]}}}}"
)


def test_a_vlan_moved_to_another_parent_is_there_at_activation_and_at_boot(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("freebsd", "-x", "vtnet1", "-x", "vtnet2", *BASE)
    deploy(host, inventory(ON.format(parent="vtnet1")))
    assert "parent interface: vtnet1" in host.ok("ifconfig vlan10")
    deploy(host, inventory(ON.format(parent="vtnet2")))
    for when in ("activation", "boot"):
        shown = host.ok("ifconfig vlan10")
        assert "parent interface: vtnet2" in shown, (when, shown)
        assert "inet 10.10.0.1 " in shown, (when, shown)
        boot(host)
