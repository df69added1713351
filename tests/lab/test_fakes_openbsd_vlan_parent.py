"""OpenBSD: a running vlan keeps its parent (sys/net/if_vlan.c vlan_set_parent: EBUSY while
IFF_RUNNING). The lab's ifconfig refuses it as the kernel does, and bsdprov's steps for a vlan
whose file names a new parent (down, the address clean-up, netstart, up) move it there, as a
boot would (review of issue 10). Harness: ``test_fakes.py``."""

from __future__ import annotations

from collections.abc import Callable

from bsdprov.inventory import parse_inventory
from bsdprov.render import file_content, render_host
from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host
shell = harness.shell

HOST_ARGS = ("-x", "vio1", "-n", "h", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
INVENTORY = """
hosts:
  h:
    os: openbsd
    interfaces:
      vio1: {up: true}
      vlan10: {parent: vio1, vlan: 10, addresses: [10.10.0.1/24]}
"""


def _running_on_vio0(host: Host) -> None:
    host.ok(
        "ifconfig vlan10 create; ifconfig vlan10 vnetid 10 parent vio0;"
        " ifconfig vlan10 inet 10.10.0.1 netmask 255.255.255.0 up"
    )


def test_a_running_vlan_refuses_a_new_parent(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", *HOST_ARGS)
    _running_on_vio0(host)
    res = host.run("ifconfig vlan10 vnetid 10 parent vio1")
    assert (res.rc, res.err) == (1, "ifconfig: SIOCSIFPARENT: Device busy\n")
    assert "parent vio0 " in host.ok("ifconfig vlan10")
    host.ok("ifconfig vlan10 vnetid 10 parent vio0")  # the same parent: a no-op
    host.ok("ifconfig vlan10 down; ifconfig vlan10 vnetid 10 parent vio1")
    assert "parent vio1 " in host.ok("ifconfig vlan10")


def test_bsdprovs_steps_move_a_running_vlan_to_its_new_parent(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd", *HOST_ARGS)
    _running_on_vio0(host)
    rendered = render_host(parse_inventory(INVENTORY, "inline.yaml").hosts["h"])
    for spec in rendered.files:
        if spec.path == "/etc/hostname.vlan10":
            host.write(spec.path, file_content(spec), 0o640)
    for step in rendered.steps:
        if "vlan10" not in step.argv:
            continue
        command = " ".join(step.argv).replace("/etc/netstart", "$LAB_ROOT/etc/netstart")
        res = host.run(command)
        assert res.rc == 0 or step.may_fail, (command, res.err)
    shown = host.ok("ifconfig vlan10")
    assert "parent vio1 " in shown, shown
    assert "inet 10.10.0.1 netmask 0xffffff00" in shown, shown
    assert "<UP," in shown, shown
