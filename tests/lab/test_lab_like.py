"""``lab.up --like``'s pure parts: which hosts and NICs, the management choice, the inventory."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import yaml

from bsdprov.inventory import parse_inventory
from bsdprov.lab.hosts import HostSpec
from bsdprov.lab.like import CLONERS, LabEndpoint, plan_like, rewrite_inventory
from bsdprov.lab.paths import PACKAGED_FAKES
from bsdprov.lab.rootfs import init_state_args
from bsdprov.lab.state import HostRecord, LabState, load_state, save_state

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
SOURCE = """\
defaults: {user: admin, become: doas}
groups:
  web:
    hosts: [web01, nobsd]
    vars: {via: gw, user: deploy}
hosts:
  gw:
    address: gw.example.org
    os: openbsd
    release: "7.5"
    interfaces:
      vlan10: {vlan: 10, parent: em1, addresses: [10.0.10.1/24]}
      em0: {addresses: [192.0.2.10/24, "2001:db8::10/64"]}
      em1: {addresses: [198.51.100.2/24]}
      bridge0: {members: [em1]}
    routes:
      - {to: default, via: "2001:db8::1"}
      - {to: default, via: 192.0.2.1}
  web01:
    address: 198.51.100.7
    os: freebsd
    interfaces:
      vtnet0: {addresses: [203.0.113.5/24]}
      vtnet1: {addresses: [198.51.100.7/24]}
    routes:
      - {to: default, via: 198.51.100.1}
  dhcp1: {os: netbsd, address: 192.0.2.99, via: gw, interfaces: {vioif0: {dhcp: true}}}
  nobsd: {address: 192.0.2.50}
"""


def _plan() -> tuple[HostSpec, ...]:
    return plan_like(parse_inventory(SOURCE, "src.yaml")).specs


def test_one_host_per_inventory_host_with_an_os() -> None:
    plan = plan_like(parse_inventory(SOURCE, "src.yaml"))
    assert [(s.name, s.os, s.release) for s in plan.specs] == [
        ("gw", "openbsd", "7.5"),
        ("web01", "freebsd", "14.1-RELEASE"),
        ("dhcp1", "netbsd", "10.0"),
    ]
    assert plan.skipped == ("host 'nobsd' has no 'os': left out of the lab",)


def test_every_nic_exists_and_the_management_one_comes_from_the_inventory() -> None:
    gw, web01, dhcp1 = _plan()
    # gw's address is a name: the first NIC with a static IPv4 address; pseudo-devices
    # (vlan10, bridge0) are left to netstart; the IPv4 default route is the gateway.
    assert (gw.interface, gw.address, gw.gateway) == (
        "em0",
        IPv4Interface("192.0.2.10/24"),
        IPv4Address("192.0.2.1"),
    )
    assert gw.extra_interfaces == ("em1",)
    # web01's address is on its second NIC.
    assert (web01.interface, str(web01.address)) == ("vtnet1", "198.51.100.7/24")
    assert web01.extra_interfaces == ("vtnet0",)
    # A DHCP host gets a lab-only NIC and an address from the lab's plan.
    assert (dhcp1.interface, dhcp1.extra_interfaces) == ("vioif1", ("vioif0",))
    assert dhcp1.address == IPv4Interface("198.18.0.3/24")
    assert dhcp1.gateway == IPv4Address("198.18.0.254")
    assert init_state_args(gw) == [
        "-x",
        "em1",
        "openbsd",
        "em0",
        "192.0.2.10/24",
        "192.0.2.1",
    ]


def test_an_onlink_gateway_outside_the_subnet_is_kept() -> None:
    source = (
        "hosts:\n  g1:\n    os: openbsd\n    interfaces: {vio0: {addresses: [203.0.113.12/32]}}\n"
        "    routes: [{to: default, via: 198.51.100.1, onlink: true}]\n"
    )
    (spec,) = plan_like(parse_inventory(source, "s")).specs
    assert (spec.interface, str(spec.address), str(spec.gateway)) == (
        "vio0",
        "203.0.113.12/32",
        "198.51.100.1",
    )


def _rewrite(source: str = SOURCE) -> str:
    specs = plan_like(parse_inventory(source, "src.yaml")).specs
    endpoints = {s.name: LabEndpoint(24001 + i, KEY) for i, s in enumerate(specs)}
    return rewrite_inventory(source, "src.yaml", endpoints, Path("/lab/ssh_config"))


def test_the_inventory_points_at_the_lab_and_keeps_the_rest() -> None:
    text = _rewrite()
    assert text.startswith("# Written by bsdprov's lab.up --like src.yaml")
    assert "jump host cannot forward" in text
    data = yaml.safe_load(text)
    source = yaml.safe_load(SOURCE)
    assert data["defaults"] == {"user": "admin", "become": "doas"}
    assert "via: gw" not in text
    assert data["groups"] == {"web": {"hosts": ["web01"], "vars": {"user": "deploy"}}}
    assert list(data["hosts"]) == ["gw", "web01", "dhcp1"]
    for port, name in enumerate(data["hosts"], 24001):
        host = data["hosts"][name]
        assert {k: host.pop(k) for k in list(host)[:6]} == {
            "address": "127.0.0.1",
            "port": port,
            "user": "root",
            "become": "none",
            "ssh_config": "/lab/ssh_config",
            "host_key": KEY,
        }
        wanted = {k: v for k, v in source["hosts"][name].items() if k not in ("address", "via")}
        assert host == wanted
    inventory = parse_inventory(text, "lab.yaml")
    assert [(h.name, h.port, h.via, h.user) for h in inventory.hosts.values()] == [
        ("gw", 24001, None, "root"),
        ("web01", 24002, None, "root"),
        ("dhcp1", 24003, None, "root"),
    ]


def test_keys_the_lab_does_not_know_are_copied_verbatim() -> None:
    source = "hosts:\n  h1:\n    os: openbsd\n    future: {switches: [a, b], n: 0x10}\n"
    text = rewrite_inventory(source, "s", {"h1": LabEndpoint(24001, KEY)}, Path("/c"))
    assert yaml.safe_load(text)["hosts"]["h1"]["future"] == {"switches": ["a", "b"], "n": 16}


def test_the_example_inventory_makes_a_lab() -> None:
    example = Path(__file__).parents[2] / "inventories" / "example.yaml"
    plan = plan_like(parse_inventory(example.read_text(), str(example)))
    by_name = {s.name: s for s in plan.specs}
    assert (by_name["hv1"].interface, by_name["hv1"].extra_interfaces) == ("em0", ("em1",))
    assert str(by_name["web01"].gateway) == "198.51.100.1"
    assert by_name["web02"].address.ip in IPv4Interface("198.18.0.0/15").network


def test_cloners_match_the_fakes() -> None:
    lib = PACKAGED_FAKES / "common/usr/libexec/lab/lib.sh"
    for os_key, names in CLONERS.items():
        got = subprocess.run(
            ["sh", "-c", f'. "{lib}"; LAB_OS={os_key}; lab_cloners'],
            capture_output=True,
            text=True,
            env={"LAB_ROOT": str(PACKAGED_FAKES / "common"), "PATH": "/usr/bin:/bin"},
            check=True,
        ).stdout.split()
        assert set(got) == names, os_key


def test_state_keeps_the_like_source_and_the_nics(tmp_path: Path) -> None:
    spec = HostSpec(
        "hv1",
        "openbsd",
        "em0",
        IPv4Interface("192.0.2.10/24"),
        IPv4Address("192.0.2.1"),
        ("em1", "em2"),
        "7.5",
    )
    state = LabState((HostRecord(spec, 24001),), "/x/lab.yaml", "inventories/example.yaml")
    save_state(tmp_path / "state.json", state)
    assert load_state(tmp_path / "state.json") == state
