"""FreeBSD: a vlan's tag (``create_args_vlanN="vlan N"``) is read only when the vlan is
created (network.subr childif_create, from its parent's ifn_start); ``service netif restart
vlanN`` alone never re-creates it (clone_down/clone_up skip a name outside cloned_interfaces).
So a changed tag must restart the parent, which destroys and re-creates its vlans, and with it
the vlans and bridges that restart concerns (review of issue 10)."""

from __future__ import annotations

from tests.test_freebsd_fidelity import spec_host, steps_after


def test_a_changed_vlan_tag_re_creates_the_vlan_through_its_parent() -> None:
    host = spec_host("vlan_parent_restart")
    steps = steps_after(host, 'create_args_vlan10="vlan 11"', 'create_args_vlan10="vlan 10"')
    assert steps == [
        "service netif restart igb1",
        "service netif restart vlan10",
        "service netif restart vlan20",
        "service netif restart bridge0",
        "service routing restart",
    ], steps
