"""Issue 13, removals: the ownership record and what a plan removes with it (pure).

Each case deploys v1 on paper: the host's files are v1's rendering merged into a base, plus
v1's record. Then v2 (v1 without an alias, a static route, a tunnel, a bridge member and, on
OpenBSD, the tunnel's sysctl) is planned against them.
"""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bsdprov.facts import ObservedFile
from bsdprov.inventory import parse_inventory
from bsdprov.model import Host
from bsdprov.outcome import Outcome
from bsdprov.output import plan_json, plan_text
from bsdprov.ownership import (
    RECORD,
    claim,
    owned_items,
    parse_record,
    record_text,
    with_record,
)
from bsdprov.plan import Plan, plan_host
from bsdprov.render import file_content, render_host

NIC = {"openbsd": "vio0", "freebsd": "vtnet0", "netbsd": "vioif0"}
TUNNEL = {"openbsd": "gre0", "freebsd": "gif0", "netbsd": "gif0"}
MEMBER = {"openbsd": "vether0", "freebsd": "tap0", "netbsd": "tap0"}
BASE = {
    "openbsd": {"/etc/sysctl.conf": "kern.maxfiles=4096\n"},
    "freebsd": {"/etc/rc.conf": 'sshd_enable="YES"\n'},
    "netbsd": {"/etc/rc.conf": "rc_configured=YES\n", "/etc/dhcpcd.conf": "hostname\n"},
}


def host(os: str, v1: bool, routes: bool = True) -> Host:
    nic, tunnel, member = NIC[os], TUNNEL[os], MEMBER[os]
    addresses = ["198.18.0.1/24", *(["198.18.0.11/24"] if v1 else [])]
    interfaces: dict[str, object] = {nic: {"addresses": addresses}, "bridge0": {"up": True}}
    entry: dict[str, object] = {"os": os, "address": "198.18.0.1", "interfaces": interfaces}
    if routes:
        entry["routes"] = [
            {"to": "default", "via": "198.18.0.254"},
            *([{"to": "10.9.0.0/16", "via": "198.18.0.253"}] if v1 else []),
        ]
    if v1:
        interfaces[tunnel] = {
            "tunnel": {"local": "198.18.0.1", "remote": "198.51.100.9"},
            "addresses": ["10.77.0.1/30"],
            "peer": "10.77.0.2",
        }
        interfaces[member] = {"up": True}
        interfaces["bridge0"] = {"members": [member]}
    text = yaml.safe_dump({"hosts": {"h1": entry}})
    return parse_inventory(text, "inv.yaml").hosts["h1"]


def deployed(os: str, with_record_file: bool = True) -> dict[str, ObservedFile]:
    """The host's files after v1's deploy."""
    v1 = host(os, v1=True)
    rendered = render_host(v1)
    files: dict[str, ObservedFile] = {}
    for spec in rendered.files:
        content = file_content(spec, BASE[os].get(spec.path))
        files[spec.path] = ObservedFile(spec.path, content, spec.mode, spec.owner, spec.group)
    if with_record_file:
        text = record_text(owned_items(v1, rendered))
        files[RECORD] = ObservedFile(RECORD, text, 0o600, "root", "wheel")
    return files


def plan_v2(
    os: str, observed: dict[str, ObservedFile], listed: tuple[str, ...] = (), routes: bool = True
) -> Plan:
    v2 = host(os, v1=False, routes=routes)
    claimed = claim(v2, render_host(v2), observed, listed)
    return with_record(plan_host(claimed.rendered, observed), claimed, observed)


def commands(plan: Plan) -> list[str]:
    return [" ".join(s.argv) for r in plan.removals for s in r.steps]


@pytest.mark.parametrize("os", ["openbsd", "freebsd", "netbsd"])
def test_v2_removes_from_the_files_and_the_running_system_what_v1_added(os: str) -> None:
    nic, tunnel, member = NIC[os], TUNNEL[os], MEMBER[os]
    plan = plan_v2(os, deployed(os))
    removed = commands(plan)
    delete = {"openbsd": "delete", "freebsd": "-alias", "netbsd": "-alias"}[os]
    route = {
        "openbsd": "route -qn delete",
        "freebsd": "route -n delete",
        "netbsd": "route -q delete",
    }
    bridge = {
        "openbsd": "ifconfig bridge0 del vether0",
        "freebsd": "ifconfig bridge0 deletem tap0",
        "netbsd": "brconfig bridge0 delete tap0",
    }[os]
    assert f"ifconfig {nic} inet 198.18.0.11 {delete}" in removed
    assert f"{route[os]} -inet -net 10.9.0.0/16" in removed
    assert f"ifconfig {tunnel} destroy" in removed
    assert f"ifconfig {member} destroy" in removed
    assert bridge in removed
    # The tunnel's own address goes with the tunnel, not by itself.
    assert not any("10.77.0.1" in c for c in removed)
    # The removals run first, in that order, before the activation.
    assert [" ".join(s.argv) for s in plan.steps[: len(removed)]] == removed
    assert all(s.may_fail for r in plan.removals for s in r.steps)
    after = {c.path: c.after for c in plan.changes}
    assert f"interface {tunnel}" not in (after[RECORD] or "") and f"interface {nic}" in (
        after[RECORD] or ""
    )
    if os == "freebsd":
        rc = after["/etc/rc.conf"] or ""
        assert f"ifconfig_{tunnel}" not in rc and "tap0" not in rc and "10.9.0.0" not in rc
        assert 'sshd_enable="YES"' in rc
    else:
        prefix = "/etc/hostname." if os == "openbsd" else "/etc/ifconfig."
        assert after[f"{prefix}{tunnel}"] is None and after[f"{prefix}{member}"] is None
        assert "198.18.0.11" not in (after[f"{prefix}{nic}"] or "")
    if os == "openbsd":
        assert "sh /var/db/bsdprov/lib/sysctl-apply net.inet.gre.allow=0" in removed
        assert "net.inet.gre.allow" not in (after["/etc/sysctl.conf"] or "")
        assert "kern.maxfiles=4096" in (after["/etc/sysctl.conf"] or "")
    if os == "netbsd":
        assert "denyinterfaces gif0" not in (after["/etc/dhcpcd.conf"] or "")


@pytest.mark.parametrize("os", ["openbsd", "freebsd", "netbsd"])
def test_the_plan_shows_each_removal_with_its_commands_in_text_and_json(os: str) -> None:
    plan = plan_v2(os, deployed(os))
    outcome = Outcome("h1", "changes", "", plan)
    text = plan_text([outcome])
    assert "removed, no longer in the inventory" in text
    assert f"  - interface {TUNNEL[os]}\n      ifconfig {TUNNEL[os]} destroy\n" in text
    assert "  - route to 10.9.0.0/16\n" in text
    entry = json.loads(plan_json([outcome]))["hosts"][0]
    assert {
        "what": f"interface {TUNNEL[os]}",
        "commands": [["ifconfig", TUNNEL[os], "destroy"]],
    } in (entry["removals"])


@pytest.mark.parametrize("os", ["openbsd", "freebsd", "netbsd"])
def test_without_a_record_nothing_is_removed(os: str) -> None:
    plan = plan_v2(os, deployed(os, with_record_file=False))
    assert plan.removals == ()
    assert not any(c.after is None for c in plan.changes)
    assert any("no ownership record" in n for n in plan.notes)
    # The record starts with this deploy, which changes something anyway.
    assert any(c.path == RECORD for c in plan.changes)


def test_a_record_alone_deploys_nothing() -> None:
    # A host deployed before the record existed: nothing else to change, no run.
    v1 = host("openbsd", v1=True)
    observed = deployed("openbsd", with_record_file=False)
    claimed = claim(v1, render_host(v1), observed)
    plan = with_record(plan_host(claimed.rendered, observed), claimed, observed)
    assert not plan.has_changes and plan.removals == ()


def test_the_same_inventory_again_changes_nothing() -> None:
    v1 = host("netbsd", v1=True)
    observed = deployed("netbsd")
    claimed = claim(v1, render_host(v1), observed)
    plan = with_record(plan_host(claimed.rendered, observed), claimed, observed)
    assert not plan.has_changes and plan.removals == () and plan.steps == ()


@pytest.mark.parametrize("os", ["openbsd", "netbsd"])
def test_an_interface_file_bsdprov_did_not_write_stays_and_is_noted(os: str) -> None:
    own = "/etc/hostname.em2" if os == "openbsd" else "/etc/ifconfig.wm2"
    observed = deployed(os)
    observed[own] = ObservedFile(own, "inet 10.1.1.1 255.255.255.0\n", 0o640, "root", "wheel")
    plan = plan_v2(os, observed, listed=(own,))
    assert own not in {c.path for c in plan.changes}
    assert f"{own} is unmanaged (not in bsdprov's ownership record): left as it is" in plan.notes
    assert not any("em2" in c or "wm2" in c for c in commands(plan))


def test_routes_left_out_of_the_inventory_are_released_not_removed() -> None:
    plan = plan_v2("freebsd", deployed("freebsd"), routes=False)
    assert not any("route" in c.split()[0] for c in commands(plan))
    rc = next(c.after for c in plan.changes if c.path == "/etc/rc.conf") or ""
    assert 'defaultrouter="198.18.0.254"' in rc
    assert any("defaultrouter: no longer managed" in n for n in plan.notes)


def test_a_dropped_default_route_is_deleted() -> None:
    v2 = host("netbsd", v1=True)
    v2 = v2.model_copy(update={"routes": ()})
    observed = deployed("netbsd")
    claimed = claim(v2, render_host(v2), observed)
    plan = with_record(plan_host(claimed.rendered, observed), claimed, observed)
    assert "route -q delete default" in commands(plan)
    rc = next(c.after for c in plan.changes if c.path == "/etc/rc.conf") or ""
    assert "defaultroute=" not in rc


def test_the_record_reads_back_and_refuses_what_bsdprov_never_writes() -> None:
    v1 = host("openbsd", v1=True)
    items = owned_items(v1, render_host(v1))
    assert parse_record(record_text(items)) == items
    hostile = (
        "file /etc/../root/.ssh/authorized_keys\nfile /home/x\nvar /etc/rc.conf a;b\n"
        "var /etc/rc.conf ../x\ninterface ../x\naddress vio0 inet 2001:db8::1\n"
        "route 4 2001:db8::/64\nbogus x\n"
    )
    assert parse_record(hostile) == frozenset()


def test_an_interface_held_as_it_is_keeps_its_addresses_and_their_record() -> None:
    # The hypervisor's uplink (deploy without --uplink): its file is left as it is, so its
    # alias stays on it, and in the record, to go once the file may change.
    v2 = host("openbsd", v1=False)
    observed = deployed("openbsd")
    claimed = claim(v2, render_host(v2), observed, hold=("/etc/hostname.vio0",))
    assert not any("198.18.0.11" in r.what for r in claimed.removals)
    assert "address vio0 inet 198.18.0.11" in claimed.record
    assert any(r.what == "interface gre0" for r in claimed.removals)


WORDS = st.sampled_from(
    [
        "file",
        "var",
        "word",
        "line",
        "interface",
        "address",
        "member",
        "route",
        "gateway",
        "default",
        "/etc/x",
        "/etc/../x",
        "vio0",
        "inet",
        "inet6",
        "4",
        "6",
        "=",
        "-",
        "::1",
        "10.0.0.0/8",
        "1.2.3.4",
        "a b",
        "",
        "x;y",
        "\u00e9",
    ]
)


@given(st.lists(st.lists(WORDS, max_size=6).map(" ".join), max_size=8).map("\n".join))
def test_any_record_text_parses_to_items_bsdprov_writes_or_nothing(text: str) -> None:
    items = parse_record(text)
    # What it keeps reads back the same: only lines bsdprov could have written.
    assert parse_record(record_text(items)) == items
    assert all(".." not in word for item in items for word in item)


@pytest.mark.parametrize("os", ["openbsd", "freebsd", "netbsd"])
def test_a_dropped_vlan_is_destroyed_and_its_configuration_goes(os: str) -> None:
    nic = NIC[os]
    entry = {
        "os": os,
        "address": "198.18.0.1",
        "interfaces": {
            nic: {"addresses": ["198.18.0.1/24"]},
            "vlan10": {"parent": nic, "vlan": 10, "addresses": ["10.10.0.1/24"]},
        },
        "routes": [{"to": "default", "via": "198.18.0.254"}],
    }
    with_vlan = parse_inventory(yaml.safe_dump({"hosts": {"h1": entry}}), "i.yaml").hosts["h1"]
    rendered = render_host(with_vlan)
    observed = {
        spec.path: ObservedFile(
            spec.path, file_content(spec, BASE[os].get(spec.path)), spec.mode, "root", "wheel"
        )
        for spec in rendered.files
    }
    text = record_text(owned_items(with_vlan, rendered))
    observed[RECORD] = ObservedFile(RECORD, text, 0o600, "root", "wheel")
    without = host(os, v1=False)
    claimed = claim(without, render_host(without), observed)
    plan = with_record(plan_host(claimed.rendered, observed), claimed, observed)
    assert "ifconfig vlan10 destroy" in commands(plan)
    files = "".join(c.after or "" for c in plan.changes if c.path != RECORD)
    assert "vlan10" not in files
    removed = {c.path for c in plan.changes if c.after is None}
    if os != "freebsd":
        assert removed == {f"/etc/{'hostname' if os == 'openbsd' else 'ifconfig'}.vlan10"}
