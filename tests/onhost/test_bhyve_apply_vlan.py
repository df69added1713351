"""lib/bhyve-apply on a switch whose system.conf has vm-bhyve's ``vlan_NAME`` (the admin's key,
which bsdprov keeps): vm-bhyve puts each port's vlan interface in the bridge, never the raw
port (switch::standard::__configure_port, lib/vm-switch-standard). Adding the raw port too
would bridge the untagged LAN into the guests' VLAN."""

from __future__ import annotations

import pytest

from tests.onhost.test_bhyve_apply import SYSTEM_CONF, Run, run

pytestmark = pytest.mark.onhost
__all__ = ["run"]  # the fixture, shared with test_bhyve_apply


def test_a_vlan_switch_never_gets_its_raw_ports(run: Run) -> None:
    conf = run.root / "vm/.config/system.conf"  # type: ignore[attr-defined]
    conf.write_text(SYSTEM_CONF + 'vlan_public="10"\n')
    vlans = "vlan0=vm-vlan-em0-10 vlan1=vm-vlan-em1-10"
    assert run("YES", "", "", "public", "vlan0 vlan1", vlans) == ["vm init"]
    # A raw port already in the bridge (bsdprov's earlier runs) is taken out.
    calls = run("YES", "", "", "public", "vlan0 vlan1 em0", vlans)
    assert calls == ["vm init", "ifconfig vm-public deletem em0"]
