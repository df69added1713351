"""A like-lab host with no static IPv4 address gets a lab-only NIC (like.plan_like) whose
management route survives a reboot: on OpenBSD it lives in /etc/hostname.IF (init-state.sh
-l), because netstart ignores mygate's IPv4 line once an interface is autoconf.
"""

# ruff: noqa: F811 (the harness's fixtures are imported, then named as parameters)
from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from bsdprov.inventory import parse_inventory
from bsdprov.lab.hosts import HostSpec
from bsdprov.lab.like import plan_like
from bsdprov.lab.rootfs import init_state_args
from bsdprov.lab.snapshot import live_state, state_difference
from bsdprov.lab.state import HostRecord, LabState, load_state, save_state
from tests.lab.test_fakes import (  # noqa: F401 (fixtures)
    Host,
    _templates,
    _tools,
    make_host,
    shell,
)

SOURCE = """\
hosts:
  db01:
    os: openbsd
    interfaces: {vio0: {dhcp: true}}
  obsd1:
    os: openbsd
    interfaces: {vio0: {addresses: [203.0.113.12/32]}}
    routes: [{to: default, via: 198.51.100.1, onlink: true}]
"""


def test_only_a_host_without_static_ipv4_gets_a_lab_only_nic() -> None:
    db01, obsd1 = plan_like(parse_inventory(SOURCE, "s")).specs
    assert (db01.interface, db01.lab_only) == ("vio1", True)
    assert init_state_args(db01)[:3] == ["-l", "-x", "vio0"]
    assert (obsd1.interface, obsd1.lab_only) == ("vio0", False)
    assert "-l" not in init_state_args(obsd1)


def test_the_state_file_keeps_lab_only(tmp_path: Path) -> None:
    spec = HostSpec(
        "db01", "openbsd", "vio1", IPv4Interface("198.18.0.3/24"), IPv4Address("198.18.0.254"),
        ("vio0",), None, True,
    )  # fmt: skip
    state = LabState((HostRecord(spec, 24001),))
    save_state(tmp_path / "state.json", state)
    assert load_state(tmp_path / "state.json") == state


def test_the_lab_route_survives_a_reboot_once_the_host_is_autoconf(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd", "-l", "-x", "vio0", "openbsd", "vio1", "198.18.0.3/24",
                     "198.18.0.254")  # fmt: skip
    assert host.path("/etc/hostname.vio1").read_text() == (
        "inet 198.18.0.3 255.255.255.0\n!route -qn add -inet default 198.18.0.254\n"
    )
    assert not host.path("/etc/mygate").exists()
    # What a deploy of a DHCP guest does to its own NIC.
    host.write("/etc/hostname.vio0", "inet autoconf\n", 0o640)
    host.ok("sh $LAB_ROOT/etc/netstart vio0")
    deployed = live_state(host.root)
    assert host.run("sh $LAB_ROOT/usr/libexec/lab/reboot").rc == 0
    assert state_difference(deployed, live_state(host.root)) == ""
    assert host.reachable()
