"""lab.reboot on the session lab."""

from __future__ import annotations

import pytest

from bsdprov.lab.pytest_plugin import RunningLab

pytestmark = pytest.mark.e2e


def test_a_fresh_host_comes_back_as_it_was(lab: RunningLab) -> None:
    lab.reset()
    for name in lab.names:
        print(lab.reboot(name))
    lab.assert_reboot_keeps_state()
    for name in lab.names:
        assert lab.ssh(name, "true").returncode == 0
