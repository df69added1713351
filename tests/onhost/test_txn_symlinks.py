"""Symbolic links a hostile (or just creative) admin left on managed paths (issue 11 review)."""

from __future__ import annotations

import pytest

from tests.onhost.harness import Host
from tests.onhost.test_txn_faults import host, leftovers

__all__ = ["host"]

pytestmark = pytest.mark.onhost

TARGET = "/etc/rc.conf.local"


def test_a_dangling_link_is_written_through_and_left_dangling_by_the_rollback(host: Host) -> None:
    """The link names a file that does not exist yet: the run creates that file; the rollback
    removes that file, never the admin's link."""
    link = host.path(TARGET)
    link.symlink_to("rc.conf.local.real")
    host.prepare("r1", {TARGET: 'sshd_flags=""\n'}, timeout=60)
    assert host.txn("start", "r1").returncode == 0, host.journal("r1")
    assert host.path("/etc/rc.conf.local.real").read_text() == 'sshd_flags=""\n'
    assert link.is_symlink()
    host.txn("rollback", "r1", "back")
    assert host.state("r1") == "rolled-back", host.journal("r1")
    assert link.is_symlink(), "the admin's link was deleted"
    assert not host.path("/etc/rc.conf.local.real").exists(), "the file the run created stayed"
    assert leftovers(host.path("/etc")) == []


def test_a_link_whose_target_name_shows_an_arrow_is_followed_exactly(host: Host) -> None:
    """ls -l shows a link as "NAME -> TARGET"; a name that itself contains " -> " must not
    shift where the file is written."""
    host.path("/etc/x -> y").symlink_to("rc.conf.real")
    host.path(TARGET).symlink_to("x -> y")
    real = host.path("/etc/rc.conf.real")
    real.write_text("old\n")
    planned = {TARGET: host.fingerprint("/etc/rc.conf.real")}
    host.prepare("r1", {TARGET: "new\n"}, timeout=60, before=planned)
    assert host.txn("start", "r1").returncode == 0, host.journal("r1")
    assert real.read_text() == "new\n"
    assert host.path(TARGET).is_symlink() and host.path("/etc/x -> y").is_symlink()
    assert sorted(p.name for p in host.path("/etc").iterdir()) == [
        "hostname.vio0",
        "rc.conf.local",
        "rc.conf.real",
        "x -> y",
    ]
    host.txn("rollback", "r1", "back")
    assert real.read_text() == "old\n"
