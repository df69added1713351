"""FreeBSD 15's if_bridge refuses a member with an address (bridge(4) of 15.0: EINVAL unless
net.link.bridge.member_ifaddrs=1), so a vm-bhyve switch whose port holds the host's address
would come up without its uplink there: `check` refuses it when the inventory names a release
of 15 or later, and the plan refuses it when the host reports one, before anything changes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bsdprov.errors import InventoryError, RenderError
from bsdprov.inventory import parse_inventory
from bsdprov.render import render_host
from tests.test_bhyve import EXAMPLE, EXAMPLE_PATH


def _with(change: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_PATH.read_text())
    data["hosts"]["bhv1"].update(change)
    return data


def test_check_refuses_an_addressed_port_on_15() -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(yaml.safe_dump(_with({"release": "15.0"})), "bhyve.yaml")
    text = str(caught.value)
    assert "bhyve.switches.public.ports[0]" in text
    assert "'em0' holds 192.0.2.20/24" in text and "member_ifaddrs" in text
    assert "a second NIC" in text, "the message says what to write instead"


@pytest.mark.parametrize("release", ["14.3", None])
def test_before_15_or_unknown_check_accepts_it(release: str | None) -> None:
    data = _with({"release": release} if release else {})
    parse_inventory(yaml.safe_dump(data), "bhyve.yaml")


def test_a_port_without_an_address_is_fine_on_15() -> None:
    data = _with(
        {
            "release": "15.0",
            "interfaces": {
                "em0": {"addresses": ["192.0.2.20/24"]},
                "em1": {"up": True},
            },
            "bhyve": {"vm_dir": "/var/vm", "switches": {"public": {"ports": ["em1"]}}},
        }
    )
    parse_inventory(yaml.safe_dump(data), "bhyve.yaml")


def test_dhcp_on_a_port_counts_as_an_address() -> None:
    data = _with({"release": "15.0", "interfaces": {"em0": {"dhcp": True}}, "routes": None})
    del data["hosts"]["bhv1"]["routes"]
    with pytest.raises(InventoryError, match="'em0' holds DHCP"):
        parse_inventory(yaml.safe_dump(data), "bhyve.yaml")


def test_the_plan_refuses_it_when_the_host_says_15() -> None:
    host = EXAMPLE.hosts["bhv1"]
    render_host(host, "freebsd", "14.3-RELEASE", EXAMPLE.guests("bhv1"))
    with pytest.raises(RenderError, match=r"host 'bhv1', bhyve\.switches\.public\.ports\[0\]: "):
        render_host(host, "freebsd", "15.0-RELEASE", EXAMPLE.guests("bhv1"))
