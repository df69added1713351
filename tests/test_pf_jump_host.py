"""A guest reached through its hypervisor (``via: HV``) behind a routed switch: bsdprov's own
SSH session to it starts on the hypervisor and leaves through the vether, where pf sees it as
``out on vether0`` (host output, if_bridge.c: never on the tap). The VM's routed block must not
cut the session every later deploy of that guest runs over (issue 10 review)."""

from __future__ import annotations

from pathlib import Path

from bsdprov.inventory import Inventory, load_inventory, parse_inventory
from bsdprov.render import render_host
from bsdprov.render.base import FileSpec

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")


def _anchor(inventory: Inventory, hv: str, guest: str) -> list[str]:
    rendered = render_host(inventory.hosts[hv], guests=inventory.guests(hv))
    files = {f.path: f for f in rendered.files if isinstance(f, FileSpec)}
    return files[f"/etc/pf.vm/{guest}.conf"].content.splitlines()


def test_example_db01_keeps_the_ssh_session_from_hv1_on_vether0() -> None:
    lines = _anchor(EXAMPLE, "hv1", "db01")
    ssh = "pass out quick on vether0 inet proto tcp from 10.50.0.1 to 10.50.0.21 port 22"
    block = "block out quick on vether0 inet to 10.50.0.21"
    assert ssh in lines, "\n".join(lines)
    assert lines.index(ssh) < lines.index(block)


def test_its_own_port_and_only_for_guests_reached_through_this_hypervisor() -> None:
    inventory = parse_inventory(
        """
hosts:
  hv:
    os: openbsd
    interfaces:
      em0: {addresses: [192.0.2.10/24]}
      vether0: {addresses: [10.50.0.1/24, "2001:db8:50::1/64"]}
      bridge1: {members: [vether0]}
    switches: {isolated: bridge1}
  jumped:
    address: 10.50.0.21
    port: 2222
    os: openbsd
    via: hv
    vm:
      hypervisor: hv
      memory: 1G
      disk: {path: /var/vmm/jumped.qcow2, size: 10G}
      nics: [{switch: isolated}]
      firewall: [{proto: tcp, port: 3306}]
    interfaces:
      vio0: {addresses: [10.50.0.21/24, "2001:db8:50::21/64"]}
  direct:
    address: 10.50.0.22
    os: openbsd
    vm:
      hypervisor: hv
      memory: 1G
      disk: {path: /var/vmm/direct.qcow2, size: 10G}
      nics: [{switch: isolated}]
      firewall: [{proto: tcp, port: 3306}]
    interfaces:
      vio0: {addresses: [10.50.0.22/24]}
""",
        "inline.yaml",
    )
    jumped = _anchor(inventory, "hv", "jumped")
    assert (
        "pass out quick on vether0 inet proto tcp from 10.50.0.1 to 10.50.0.21 port 2222" in jumped
    )
    assert (
        "pass out quick on vether0 inet6 proto tcp from 2001:db8:50::1 to 2001:db8:50::21 "
        "port 2222" in jumped
    )
    direct = _anchor(inventory, "hv", "direct")
    assert not [line for line in direct if "port 22" in line], "\n".join(direct)


TWO_SLAAC_GUESTS = """
hosts:
  hv:
    os: openbsd
    interfaces:
      em0: {addresses: [192.0.2.10/24]}
      vether0: {addresses: [10.50.0.1/24, "2001:db8:50::1/64"]}
      bridge1: {members: [vether0]}
    switches: {isolated: bridge1}
  a:
    os: openbsd
    vm:
      hypervisor: hv
      disk: {path: /var/vmm/a.qcow2, size: 10G}
      nics: [{switch: isolated}]
      firewall: [{proto: tcp, port: 3306}]
    interfaces:
      vio0: {addresses: [10.50.0.21/24, "2001:db8:50::21/64"], autoconf6: true}
  b:
    os: openbsd
    vm:
      hypervisor: hv
      disk: {path: /var/vmm/b.qcow2, size: 10G}
      nics: [{switch: isolated}]
      firewall: [{proto: tcp, port: 80}]
    interfaces:
      vio0: {addresses: [10.50.0.22/24, "2001:db8:50::22/64"], autoconf6: true}
"""


def test_a_slaac_guest_on_a_routed_switch_decides_only_for_its_own_addresses() -> None:
    """SLAAC forms a guest's addresses in the prefix advertised on the vether's segment, which
    every VM on that switch (and the hypervisor) shares: a rule ``to`` that /64 in one VM's
    anchor would decide for all of them (anchor vm/a's block quick cut b's port 80, and its
    pass let port 3306 through to b). Towards the VM, on vether0, each anchor names its VM's own
    addresses."""
    inventory = parse_inventory(TWO_SLAAC_GUESTS, "inline.yaml")
    for guest, other in (("a", "2001:db8:50::22"), ("b", "2001:db8:50::21")):
        lines = _anchor(inventory, "hv", guest)
        routed = [line for line in lines if " out quick on vether0 " in line]
        assert routed, "\n".join(lines)
        assert not [line for line in routed if "2001:db8:50::/64" in line], "\n".join(routed)
        assert not [line for line in routed if other in line], "\n".join(routed)
    a = _anchor(inventory, "hv", "a")
    assert "block out quick on vether0 inet6 to 2001:db8:50::21" in a, "\n".join(a)
    # From the VM nothing is blocked on vether0, so its SLAAC /64 may still be passed in.
    assert "pass in quick on vether0 inet6 from 2001:db8:50::/64" in a, "\n".join(a)
