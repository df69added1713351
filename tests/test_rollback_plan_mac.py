"""Review of issue 16: the MAC before the run, read by the probe, is set again by the rollback."""

from __future__ import annotations

import pytest

from bsdprov.facts import BEGIN, END, Live, parse_facts, probe_script
from bsdprov.rollback import Swap, plan_undo

LIVE = Live(macs=(("em0", "52:54:00:00:00:01"),))


@pytest.mark.parametrize(
    ("os", "swaps", "wanted"),
    [
        (
            "openbsd",
            [Swap("/etc/hostname.em0", "lladdr 02:00:00:aa:bb:01\ninet 192.0.2.5/24\n", "")],
            "ifconfig em0 lladdr 52:54:00:00:00:01",
        ),
        (
            "freebsd",
            [
                Swap(
                    "/etc/rc.conf",
                    'ifconfig_em0="inet 192.0.2.5/24"\n'
                    'ifconfig_em0_alias0="ether 02:00:00:aa:bb:01"\n',
                    'ifconfig_em0="inet 192.0.2.5/24"\n',
                )
            ],
            "ifconfig em0 ether 52:54:00:00:00:01",
        ),
        (
            "netbsd",
            [Swap("/etc/ifconfig.em0", "link 02:00:00:aa:bb:01 active\nup\n", "up\n")],
            "ifconfig em0 link 52:54:00:00:00:01 active",
        ),
    ],
)
def test_the_mac_before_the_run_is_set_again(os: str, swaps: list[Swap], wanted: str) -> None:
    steps = [" ".join(s.argv) for s in plan_undo(os, swaps, (), LIVE).steps]
    assert wanted in steps
    # Not when the restored configuration sets a MAC itself (re-applying it sets that one).
    kept = [Swap(s.path, s.now, s.now) for s in swaps]
    assert wanted not in [" ".join(s.argv) for s in plan_undo(os, kept, (), LIVE).steps]


def test_the_probe_reads_the_mac_and_ignores_garbage() -> None:
    assert "ifconfig em0" in probe_script([], macs=["em0"])
    out = (
        f"{BEGIN}\nuname OpenBSD 7.5 amd64\nlive mac em0 52:54:00:00:00:0A\n"
        f"live mac vio0 \nlive mac em1 nonsense\n{END}\n"
    )
    assert parse_facts(out.encode(), "h").live.macs == (("em0", "52:54:00:00:00:0a"),)
