"""lib/bhyve-apply on a VLAN switch of vm-bhyve's current naming (the one whose bridges are
``vm-NAME``): switch::standard::__configure_port makes each port's vlan interface as
``ifconfig vlan create vlandev PORT vlan N descr "vm-vlan/SWITCH/PORT.N" name "PORT.N" group
vm-vlan`` (lib/vm-switch-standard, churchers/vm-bhyve master). Such a member is vm-bhyve's own,
like a guest's tap: taking it out of the bridge would cut every guest of the switch from its
uplink. Older vm-bhyve named it ``vlanN`` with description ``vm-vlan-PORT-N``."""

from __future__ import annotations

import pytest

from tests.onhost.test_bhyve_apply import SYSTEM_CONF, Run, run

pytestmark = pytest.mark.onhost
__all__ = ["run"]  # the fixture, shared with test_bhyve_apply


def test_the_current_vlan_ports_stay_in_the_bridge(run: Run) -> None:
    conf = run.root / "vm/.config/system.conf"  # type: ignore[attr-defined]
    conf.write_text(SYSTEM_CONF + 'vlan_public="10"\n')
    vlans = "em0.10=vm-vlan/public/em0.10 em1.10=vm-vlan/public/em1.10"
    assert run("YES", "", "", "public", "em0.10 em1.10", vlans) == ["vm init"]
    # The raw port is still taken out, the vlan ports stay.
    calls = run("YES", "", "", "public", "em0.10 em1.10 em0", vlans)
    assert calls == ["vm init", "ifconfig vm-public deletem em0"]
