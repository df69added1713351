"""OpenBSD: the kernel refuses a new parent for a running vlan (sys/net/if_vlan.c
vlan_set_parent: EBUSY while IFF_RUNNING), so `sh /etc/netstart vlan10` on a live vlan whose
file now says `parent em2` leaves it on em1 until the next boot, which creates it fresh on em2.
Activation takes the vlan down first, as boot starts it (review of issue 10)."""

from __future__ import annotations

from pathlib import Path

from bsdprov.inventory import load_inventory
from bsdprov.render import render_host

SPEC = Path(__file__).parent / "specs" / "render" / "openbsd" / "vlan_bridge_vether" / "host.yaml"


def test_a_vlan_goes_down_before_netstart_sets_its_parent() -> None:
    host = load_inventory(SPEC).hosts["hv1"]
    steps = [(" ".join(s.argv), s.may_fail, s.triggers) for s in render_host(host).steps]
    argvs = [argv for argv, _, _ in steps]
    down = argvs.index("ifconfig vlan10 down")
    assert down < argvs.index("sh /etc/netstart vlan10")
    assert steps[down][1:] == (True, ("/etc/hostname.vlan10",))
    up = argvs.index("ifconfig vlan10 up")
    assert up > argvs.index("sh /etc/netstart vlan10")
    assert steps[up][1:] == (False, ("/etc/hostname.vlan10",))
    # Only vlans: a physical interface or a vether keeps running.
    assert "ifconfig em1 down" not in argvs
    assert "ifconfig vether0 down" not in argvs
