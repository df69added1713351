"""Planning: which files change, which steps those changes trigger, and the diffs shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bsdprov.facts import ObservedFile
from bsdprov.inventory import load_inventory, parse_inventory
from bsdprov.plan import mask_secrets, plan_host
from bsdprov.render import file_content, render_host

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")


def text(observed: ObservedFile) -> str:
    assert observed.content is not None, f"{observed.path} is absent"
    return observed.content


def applied(name: str) -> dict[str, ObservedFile]:
    """The host's files exactly as bsdprov would leave them."""
    rendered = render_host(EXAMPLE.hosts[name])
    return {
        f.path: ObservedFile(f.path, file_content(f), f.mode, f.owner, f.group)
        for f in rendered.files
    }


def argvs(plan_steps: tuple[Any, ...]) -> list[str]:
    return [" ".join(step.argv) for step in plan_steps]


def test_fresh_host_gets_every_file_and_the_whole_activation() -> None:
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), {})
    assert [c.path for c in plan.changes] == ["/etc/hostname.vio0", "/etc/mygate"]
    assert [c.action for c in plan.changes] == ["create", "create"]
    assert argvs(plan.steps) == [
        "route -qn delete default",
        "route -qn delete -inet 198.51.100.1",
        "ifconfig vio0 inet -autoconf",
        "ifconfig vio0 -inet",
        "ifconfig vio0 inet6 -autoconf",
        "ifconfig vio0 -inet6",
        "sh /etc/netstart vio0",
    ]
    assert plan.checks and plan.verify


def test_applied_host_has_no_changes_and_no_steps() -> None:
    plan = plan_host(render_host(EXAMPLE.hosts["hv1"]), applied("hv1"))
    assert not plan.has_changes and plan.steps == () and plan.checks == ()
    assert plan.diff() == "hv1: no changes\n"


def test_one_bridge_change_never_touches_the_uplink() -> None:
    observed = applied("hv1")
    bridge = observed["/etc/hostname.bridge1"]
    observed[bridge.path] = ObservedFile(bridge.path, "add vether0\n", 0o640, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["hv1"]), observed)
    assert [c.path for c in plan.changes] == ["/etc/hostname.bridge1"]
    assert argvs(plan.steps) == ["sh /etc/netstart bridge1"]


def test_a_new_gateway_replaces_the_default_route_once() -> None:
    observed = applied("obsd1")
    observed["/etc/mygate"] = ObservedFile("/etc/mygate", "198.51.100.9\n", 0o644, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert argvs(plan.steps) == ["route -qn delete default", "sh /etc/netstart vio0"]


def test_freebsd_key_change_restarts_only_its_interface_then_routing() -> None:
    host = EXAMPLE.hosts["v6gw"]
    observed = applied("v6gw")
    rc = observed["/etc/rc.conf"]
    old = text(rc).replace('ifconfig_vtnet1_descr="routed /64"', 'ifconfig_vtnet1_descr="old"')
    observed[rc.path] = ObservedFile(rc.path, old, 0o644, "root", "wheel")
    plan = plan_host(render_host(host), observed)
    assert plan.changes[0].changed_keys == {"ifconfig_vtnet1_descr"}
    assert argvs(plan.steps) == ["service netif restart vtnet1", "service routing restart"]


def test_freebsd_admin_keys_do_not_trigger_anything() -> None:
    observed = applied("fbsd1")
    rc = observed["/etc/rc.conf"]
    observed[rc.path] = ObservedFile(
        rc.path, 'sshd_enable="YES"\n' + text(rc), 0o644, "root", "wheel"
    )
    plan = plan_host(render_host(EXAMPLE.hosts["fbsd1"]), observed)
    assert not plan.has_changes


def test_mode_only_change_fixes_the_file_but_runs_nothing() -> None:
    observed = applied("obsd1")
    f = observed["/etc/hostname.vio0"]
    observed[f.path] = ObservedFile(f.path, f.content, 0o644, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert [c.action for c in plan.changes] == ["metadata"]
    assert plan.steps == () and plan.verify == ()
    assert plan.diff().endswith("# mode/owner 0644 root:wheel -> 0640 root:wheel\n")


def test_diff_is_unified_and_headed_by_host_and_path() -> None:
    observed = applied("obsd1")
    observed["/etc/mygate"] = ObservedFile("/etc/mygate", "198.51.100.9\n", 0o644, "root", "wheel")
    diff = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed).diff()
    assert diff.startswith("--- a/obsd1:/etc/mygate\n+++ b/obsd1:/etc/mygate\n")
    assert "\n-198.51.100.9\n" in diff and "\n+198.51.100.1\n" in diff


def test_created_file_diffs_against_dev_null() -> None:
    inventory = parse_inventory(
        "hosts:\n  h: {os: openbsd, interfaces: {em0: {dhcp: true}}}\n", "i.yaml"
    )
    diff = plan_host(render_host(inventory.hosts["h"]), {}).diff()
    assert diff.startswith("--- /dev/null\n+++ b/h:/etc/hostname.em0\n")


def test_missing_final_newline_is_shown() -> None:
    observed = applied("obsd1")
    observed["/etc/mygate"] = ObservedFile("/etc/mygate", "198.51.100.1", 0o644, "root", "wheel")
    diff = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed).diff()
    assert "\\ No newline at end of file\n" in diff


def test_secrets_are_masked() -> None:
    assert mask_secrets('wpakey "hunter2 x"\nnwid home') == "wpakey ********\nnwid home"
    assert (
        mask_secrets("!ifconfig carp0 pass s3cret vhid 1") == "!ifconfig carp0 pass ******** vhid 1"
    )


def test_pf_rules_are_not_mistaken_for_carp_passwords() -> None:
    rules = (
        "pass out on em0 inet from 10.50.0.0/24 to any nat-to (em0)\npass on em1\npass log all\n"
    )
    assert mask_secrets(rules) == rules
    assert (
        mask_secrets("    | @0 pass in quick on web01_vm") == "    | @0 pass in quick on web01_vm"
    )
    admin = "pass\t\t# establish keep-state\npass\nblock return\n"
    assert mask_secrets(admin) == admin


def test_a_comment_only_difference_is_no_change_and_activates_nothing() -> None:
    observed = applied("obsd1")
    f = observed["/etc/hostname.vio0"]
    bare = "".join(line + "\n" for line in text(f).splitlines() if not line.startswith("#"))
    observed[f.path] = ObservedFile(f.path, bare, 0o640, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert plan.changes == () and plan.steps == () and plan.verify == ()
    assert "/etc/hostname.vio0 differs only in comments: left as is" in plan.notes
