"""Attack on issue 13: a tampered ownership record never widens what a deploy edits.

The record named any path under /etc for its key, word and line items: "var
/etc/master.passwd ifconfig_em9" made the deploy rewrite /etc/master.passwd without that line
and with the rc.conf edit's mode, 0644 (the password hashes world-readable)."""

from __future__ import annotations

import pytest

from bsdprov.facts import ObservedFile
from bsdprov.ownership import RECORD, claim, parse_record, with_record
from bsdprov.plan import plan_host
from bsdprov.render import render_host
from tests.test_ownership import deployed, host

SECRET = "root:$2b$09$secrethash:0:0:daemon:0:0:Charlie &:/root:/bin/ksh\nifconfig_em9=x\n"
TAMPERED = (
    "var /etc/master.passwd ifconfig_em9\n"
    "word /etc/master.passwd cloned_interfaces root\n"
    "line /etc/pf.conf - denyinterfaces x\n"
    "line /etc/master.passwd = net.inet.ip.forwarding\n"
    "var /etc/rc.conf.local ifconfig_em9\n"
    "line /etc/sysctl.conf = kern.securelevel\n"
)


@pytest.mark.parametrize("os", ["openbsd", "freebsd", "netbsd"])
def test_a_tampered_record_edits_no_file_bsdprov_does_not_edit(os: str) -> None:
    observed = deployed(os)
    record = observed[RECORD]
    assert record.content is not None
    observed["/etc/master.passwd"] = ObservedFile("/etc/master.passwd", SECRET, 0o600)
    sysctl = observed.get("/etc/sysctl.conf")
    admin = (sysctl.content if sysctl and sysctl.content else "") + "kern.securelevel=2\n"
    observed["/etc/sysctl.conf"] = ObservedFile("/etc/sysctl.conf", admin, 0o644, "root", "wheel")
    observed["/etc/rc.conf.local"] = ObservedFile("/etc/rc.conf.local", "ifconfig_em9=x\n")
    observed[RECORD] = ObservedFile(RECORD, record.content + TAMPERED, 0o600, "root", "wheel")
    v1 = host(os, v1=True)
    claimed = claim(v1, render_host(v1), observed)
    plan = with_record(plan_host(claimed.rendered, observed), claimed, observed)
    assert {c.path for c in plan.changes} <= {RECORD}
    assert claimed.removals == ()


def test_the_record_keeps_keys_words_and_lines_of_the_files_bsdprov_edits() -> None:
    text = (
        "var /etc/rc.conf ifconfig_gif0\nword /etc/rc.conf cloned_interfaces gif0\n"
        "line /etc/sysctl.conf = net.inet.gre.allow\n"
        "line /etc/dhcpcd.conf - denyinterfaces gif0\n" + TAMPERED
    )
    assert {item[1] for item in parse_record(text)} == {
        "/etc/rc.conf",
        "/etc/sysctl.conf",
        "/etc/dhcpcd.conf",
    }
