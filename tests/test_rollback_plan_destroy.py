"""Review of issue 16: destroying an interface a run created may fail (it may not exist yet)."""

from __future__ import annotations

import pytest

from bsdprov.rollback import Swap, plan_undo

CASES = {
    "openbsd": [Swap("/etc/hostname.gif0", "tunnel 192.0.2.1 198.51.100.2\n", None)],
    "freebsd": [Swap("/etc/rc.conf", 'cloned_interfaces="gif0"\n', "")],
    "netbsd": [Swap("/etc/ifconfig.gif0", "tunnel 192.0.2.1 198.51.100.2\n", None)],
}


@pytest.mark.parametrize("os", sorted(CASES))
def test_the_destroy_of_a_created_interface_may_fail(os: str) -> None:
    # A deploy whose activation stopped before it created gif0 rolls back with gif0 absent: a
    # failing destroy must not make that rollback "rollback-failed" (nor block later runs).
    (destroy,) = [s for s in plan_undo(os, CASES[os]).steps if s.argv[-1] == "destroy"]
    assert destroy.argv == ("ifconfig", "gif0", "destroy")
    assert destroy.may_fail
