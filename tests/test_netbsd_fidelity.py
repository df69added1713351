"""NetBSD fidelity: what bsdprov renders must be what a real NetBSD host does (issue 10)."""

from __future__ import annotations

import pytest

from bsdprov.errors import RenderError
from bsdprov.inventory import parse_inventory
from bsdprov.render import render_host

BRIDGED_VETHER = """
hosts:
  nb:
    os: netbsd
    interfaces:
      wm0: {addresses: [192.0.2.40/24]}
      vether0: {addresses: [10.50.0.1/24]}
      bridge0: {members: [vether0]}
"""


def test_vether_on_a_probed_netbsd_9_is_refused_naming_the_release() -> None:
    """The inventory has no release; the probe says 9.3: the plan stops with the reason."""
    host = parse_inventory(BRIDGED_VETHER, "inventory.yaml").hosts["nb"]
    with pytest.raises(RenderError) as caught:
        render_host(host, "netbsd", "9.3")
    assert str(caught.value) == (
        "host 'nb', interfaces.vether0: vether(4) first appeared in NetBSD 10, but the release "
        "is '9.3'; use a tap interface (tap(4) is an Ethernet interface that takes an address "
        "and joins a bridge on every release)"
    )


@pytest.mark.parametrize("release", ["10.0", "10.1", "11.0", None])
def test_vether_on_netbsd_10_and_later_renders(release: str | None) -> None:
    host = parse_inventory(BRIDGED_VETHER, "inventory.yaml").hosts["nb"]
    rendered = render_host(host, "netbsd", release)
    assert any(f.path == "/etc/ifconfig.vether0" for f in rendered.files)


def test_a_removed_line_goes_and_every_other_line_stays() -> None:
    """dhcpcd.conf: an interface that turned to DHCP loses its denyinterfaces line."""
    from bsdprov.render import LineEdit, file_content

    edit = LineEdit("/etc/dhcpcd.conf", ("denyinterfaces wm0",), remove=("denyinterfaces wm1",))
    before = "hostname\n# denyinterfaces wm1\ndenyinterfaces tun*\ndenyinterfaces wm1\n"
    assert file_content(edit, before) == (
        "hostname\n# denyinterfaces wm1\ndenyinterfaces tun*\ndenyinterfaces wm0\n"
    )
