"""The lab's FreeBSD pfctl and kldload fakes (freebsd/sbin) under dash, busybox ash and mksh:
as strict as FreeBSD 13/14's pfctl on what bsdprov writes for a bhyve hypervisor's NAT."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host

HOOK = 'nat-anchor "bsdprov"\nload anchor "bsdprov" from "/etc/pf.bsdprov.conf"\n'
NAT = "nat on em0 inet from 10.0.0.0/24 to any -> (em0)\n"


def test_nat_loads_into_its_anchor_and_shows_as_translation(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("freebsd")
    host.write("/etc/pf.conf", "set skip on lo\nscrub in all\n" + HOOK + "pass out all\n")
    host.write("/etc/pf.bsdprov.conf", "# managed\n" + NAT)
    host.ok("pfctl -nf /etc/pf.conf")  # parsing alone needs no pf(4)
    assert "/dev/pf" in host.run("pfctl -f /etc/pf.conf").err, "pf(4) is not loaded yet"
    host.ok("kldload -n pf && kldload -n pf && pfctl -f /etc/pf.conf && pfctl -e")
    assert host.run("kldload pf").rc != 0, "without -n a loaded module is an error"
    assert host.ok("pfctl -sn") == 'nat-anchor "bsdprov" all\n'
    # -sr lists scrub rules, then filter rules (pfctl_show_rules: PF_SCRUB, then PF_PASS).
    assert host.ok("pfctl -sr") == "scrub in all\npass out all\n"
    assert host.ok("pfctl -a bsdprov -sn") == NAT
    assert host.ok("pfctl -s info").startswith("Status: Enabled")
    # A rollback to no pf.conf: both rulesets and the anchor flushed, the anchor gone.
    host.ok("pfctl -F nat && pfctl -F rules && pfctl -a bsdprov -F nat && pfctl -d")
    assert host.ok("pfctl -sn") == "" and host.ok("pfctl -a bsdprov -sn") == ""
    assert not host.path("/var/lab/state/pf/anchors/bsdprov").exists()


def test_pfctl_refuses_what_freebsds_pfctl_refuses(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    cases = {
        # parse.y check_rulestate: translation after filtering
        "pass out all\n" + NAT: "Rules must be in order",
        # OpenBSD's nat-to is not FreeBSD 13/14 syntax
        "pass out on em0 inet from 10.0.0.0/24 to any nat-to (em0)\n": "syntax error",
        # natrule needs its redirection
        "nat on em0 inet from 10.0.0.0/24 to any\n": "syntax error",
        "nat on $ext from any to any -> (em0)\n": "macro 'ext' not defined",
        'load anchor "x" from "/etc/missing.conf"\n': "cannot open",
    }
    for text, message in cases.items():
        host.write("/etc/pf.conf", text)
        result = host.run("pfctl -nf /etc/pf.conf")
        assert result.rc != 0 and message in result.err, (text, result.err)
    host.write("/etc/pf.conf", "set require-order no\npass out all\n" + NAT)
    host.ok("pfctl -nf /etc/pf.conf")
