"""Review of issue 16: a NetBSD rollback hands dhcpcd back exactly what dhcpcd.conf says."""

from __future__ import annotations

from bsdprov.render.netbsd import IFUP
from bsdprov.rollback import Swap, plan_undo


def commands(swaps: list[Swap]) -> list[str]:
    return [" ".join(step.argv) for step in plan_undo("netbsd", swaps).steps]


def test_a_run_that_gave_an_interface_to_dhcpcd_has_dhcpcd_let_go_of_it_on_rollback() -> None:
    # The run removed `denyinterfaces wm0` and wrote `dhcp`; the rollback restores both and
    # must stop dhcpcd on wm0 (dhcpcd -x), or its lease stays next to the static address.
    steps = commands(
        [
            Swap("/etc/dhcpcd.conf", "", "denyinterfaces wm0\n"),
            Swap("/etc/ifconfig.wm0", "dhcp\n", "inet 192.0.2.5 netmask 255.255.255.0\n"),
        ]
    )
    assert steps == [f"sh {IFUP} release wm0", f"sh {IFUP} wm0", f"sh {IFUP} bind wm0"]


def test_a_deny_line_alone_is_undone_through_dhcpcd() -> None:
    # Only dhcpcd.conf differs (a later deploy's file for wm0 is byte-identical): dhcpcd still
    # takes wm0 back (bind) when rc.conf says dhcpcd=YES.
    steps = commands([Swap("/etc/dhcpcd.conf", "denyinterfaces wm0, wm1\n", "")])
    assert steps == [f"sh {IFUP} release wm0 wm1", f"sh {IFUP} bind wm0 wm1"]


def test_a_managed_header_alone_changes_nothing_running() -> None:
    assert commands([Swap("/etc/dhcpcd.conf", "# managed\n", "")]) == []
