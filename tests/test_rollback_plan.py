"""A rollback's own checks and steps, planned from the files it restores (bsdprov/rollback.py).

Each case is a deploy planned as the controller plans it (render, plan against the observed
files, ``with_undo`` with the probe's live facts), then the checks and steps its rollback runs.
The failures quoted in issue 16 are here as the plans that caused them.
"""

from __future__ import annotations

import json
from pathlib import Path

from bsdprov.facts import Live, ObservedFile
from bsdprov.inventory import load_inventory
from bsdprov.outcome import Outcome
from bsdprov.output import plan_json, plan_text
from bsdprov.plan import Plan, plan_host
from bsdprov.render import render_host
from bsdprov.render.base import Step
from bsdprov.rollback import Swap, plan_undo, with_undo
from bsdprov.run import RunSettings, build_run

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")
LIB = "/var/db/bsdprov/lib"


def planned(host_name: str, observed: dict[str, ObservedFile], live: Live | None = None) -> Plan:
    host = EXAMPLE.hosts[host_name]
    rendered = render_host(host, guests=EXAMPLE.guests(host_name))
    return with_undo(plan_host(rendered, observed), live or Live())


def commands(steps: tuple[Step, ...]) -> list[str]:
    return [" ".join(s.argv) for s in steps]


def test_a_hypervisors_first_deploy_rolls_back_without_checking_files_it_removes() -> None:
    # Issue 16: "check failed: pfctl -a vm/web01 -nf /etc/pf.vm/web01.conf: No such file".
    pf_conf = "set skip on lo\npass\n"
    plan = planned(
        "hv1",
        {"/etc/pf.conf": ObservedFile("/etc/pf.conf", pf_conf, 0o600, "root", "wheel")},
        Live("hv1.lab", (("net.inet.ip.forwarding", "0"),), True),
    )
    checks = commands(plan.undo_checks)
    assert checks == ["pfctl -nf /etc/pf.conf"], "only pf.conf is left to check"
    steps = commands(plan.undo_steps)
    # What the run created goes: the cloned interfaces (bridges before their members), its
    # managed-by-nothing NIC back down, forwarding to its old value, every anchor flushed,
    # vmd and dhcpd stopped (rc-apply reads the restored rc.conf.local), the old name back.
    for expected in (
        "ifconfig gif0 destroy",
        "ifconfig bridge1 destroy",
        "ifconfig bridge0 destroy",
        "ifconfig vether0 destroy",
        "ifconfig em1 down",
        f"sh {LIB}/sysctl-apply net.inet.ip.forwarding=0",
        "pfctl -f /etc/pf.conf",
        f"sh {LIB}/rc-apply restart dhcpd",
        f"sh {LIB}/rc-apply vmd",
        f"sh {LIB}/pf-anchor vm/web01 /etc/pf.vm/web01.conf",
        f"sh {LIB}/pf-anchor vm/db01 /etc/pf.vm/db01.conf",
        "hostname hv1.lab",
    ):
        assert expected in steps, (expected, steps)
    assert steps.index("ifconfig bridge1 destroy") < steps.index("ifconfig vether0 destroy")
    assert not any(s.startswith("sh /etc/netstart") for s in steps), "no file is left to apply"
    assert not any("vmctl start" in s for s in steps)


def test_a_forwarding_value_set_by_hand_is_what_the_rollback_puts_back() -> None:
    plan = planned("hv1", {}, Live(None, (("net.inet.ip.forwarding", "1"),), None))
    assert f"sh {LIB}/sysctl-apply net.inet.ip.forwarding=1" in commands(plan.undo_steps)


def test_pf_is_turned_off_again_when_the_run_turned_it_on() -> None:
    plan = planned("hv1", {}, Live(None, (), False))
    steps = commands(plan.undo_steps)
    assert "pfctl -d" in steps and "pfctl -e" not in steps


def test_a_freebsd_rollback_sets_the_old_host_name_again() -> None:
    # Issue 16: after a rolled-back deploy, `hostname` still showed the new name.
    rc_conf = (
        'hostname="old.example.org"\nifconfig_vtnet0="inet 203.0.113.9 netmask 255.255.255.0"\n'
    )
    plan = planned("fbsd1", {"/etc/rc.conf": ObservedFile("/etc/rc.conf", rc_conf)})
    assert "hostname fbsd1.example.org" in commands(plan.steps)
    assert commands(plan.undo_checks) == ["sh -n /etc/rc.conf"]
    undo = commands(plan.undo_steps)
    assert "hostname old.example.org" in undo
    assert "service netif restart vtnet0" in undo
    assert "service routing restart" in undo
    # The running name before the run wins over the file: that is what the host had.
    live = with_undo(plan, Live("drifted.example.org"))
    assert "hostname drifted.example.org" in commands(live.undo_steps)


def test_a_freebsd_tunnel_the_run_created_is_destroyed() -> None:
    rc_conf = 'ifconfig_vtnet0="inet 203.0.113.30 netmask 255.255.255.0"\n'
    plan = planned("v6gw", {"/etc/rc.conf": ObservedFile("/etc/rc.conf", rc_conf)})
    undo = commands(plan.undo_steps)
    assert undo[0] == "ifconfig gif0 destroy"
    assert "service netif restart gif0" not in undo
    assert "service netif restart vtnet1" in undo, "a NIC the run configured is restarted bare"
    # The restored rc.conf configures no IPv6 on vtnet1, so netif would leave the run's
    # address and router-advert flag: both go first.
    restart = undo.index("service netif restart vtnet1")
    assert undo[restart - 2 : restart] == [
        "ifconfig vtnet1 inet6 -accept_rtadv",
        "ifconfig vtnet1 inet6 2001:db8:1f0b:12::1 -alias",
    ]


def test_netbsd_rollback_to_an_interface_configured_in_rc_conf() -> None:
    # Issue 10 case 10: the interface had no /etc/ifconfig.vioif0; rc.conf's variable held it.
    rc_conf = 'ifconfig_vioif0="inet 203.0.113.11 netmask 255.255.255.255"\n'
    plan = planned(
        "nbsd1",
        {
            "/etc/rc.conf": ObservedFile("/etc/rc.conf", rc_conf),
            "/etc/ifconfig.vioif0": ObservedFile("/etc/ifconfig.vioif0", None),
        },
    )
    undo = commands(plan.undo_steps)
    assert f"sh {LIB}/netbsd-ifup vioif0" in undo, "re-applied from rc.conf's variable"
    assert "route -q delete -host 198.51.100.1" in undo, "the run's host route goes first"
    assert undo.index("route -q delete -host 198.51.100.1") < undo.index(
        f"sh {LIB}/netbsd-ifup vioif0"
    )
    assert "ifconfig vioif0 destroy" not in undo


def test_openbsd_rollback_deletes_the_runs_routes_and_reapplies_the_old_file() -> None:
    old = "inet 203.0.113.12 255.255.255.255\n"
    plan = planned(
        "obsd1",
        {
            "/etc/hostname.vio0": ObservedFile("/etc/hostname.vio0", old, 0o640),
            "/etc/mygate": ObservedFile("/etc/mygate", "203.0.113.1\n"),
        },
    )
    undo = commands(plan.undo_steps)
    assert commands(plan.undo_checks) == ["sh /etc/netstart -n vio0"]
    assert undo == [
        "route -qn delete default",
        "route -qn delete -inet 198.51.100.1",
        # As the deploy: each family starts from what boot starts from.
        "ifconfig vio0 inet -autoconf",
        "ifconfig vio0 -inet",
        "ifconfig vio0 inet6 -autoconf",
        "ifconfig vio0 -inet6",
        "sh /etc/netstart vio0",
    ]


def test_only_mygate_restored_adds_its_default_route_back() -> None:
    undo = plan_undo("openbsd", [Swap("/etc/mygate", "192.0.2.1\n", "192.0.2.254\n2001:db8::1\n")])
    assert [" ".join(s.argv) for s in undo.steps] == [
        "route -qn delete default",
        "route -qn delete -inet6 default",
        "route -qn add -host default 192.0.2.254",
        "route -qn add -host -inet6 default 2001:db8::1",
    ]


def test_a_vm_the_run_stopped_is_started_again_and_one_it_added_stopped() -> None:
    vm = 'vm "{}" {{\n\tmemory 1G\n\tdisk "/var/vmm/{}.qcow2" format qcow2\n}}\n'
    now = "# managed\n" + vm.format("web01", "web01")
    restored = now + "\n" + vm.format("obsd1", "obsd1")
    undo = plan_undo("openbsd", [Swap("/etc/vm.conf", now, restored)])
    assert [" ".join(s.argv) for s in undo.steps] == [
        f"sh {LIB}/rc-apply vmd",
        "vmctl start obsd1",
    ]
    again = plan_undo("openbsd", [Swap("/etc/vm.conf", restored, now)])
    assert [" ".join(s.argv) for s in again.steps] == [
        "vmctl stop -w obsd1",
        f"sh {LIB}/rc-apply vmd",
    ]


def test_the_run_directory_carries_the_rollbacks_checks_and_steps() -> None:
    rc_conf = 'hostname="old.example.org"\n'
    plan = planned("fbsd1", {"/etc/rc.conf": ObservedFile("/etc/rc.conf", rc_conf)})
    run = build_run(plan, RunSettings("r1", "tester"))
    assert run["undo-checks"] == b"sh -n /etc/rc.conf\n"
    assert b"hostname old.example.org\n" in run["undo-steps"]
    assert b"hostname fbsd1.example.org\n" in run["steps"]


def test_netbsd_puts_the_default_route_back_after_reapplying_its_interface() -> None:
    # Re-applying vioif0 drops its addresses and the default route through them; rc.conf does
    # not change, so the route comes back from rc.conf as it stands.
    old = "inet 203.0.113.11 netmask 255.255.255.255\n"
    rc_conf = 'hostname="nbsd1.example.org"\ndefaultroute="198.51.100.1"\n'
    plan = planned(
        "nbsd1",
        {
            "/etc/ifconfig.vioif0": ObservedFile("/etc/ifconfig.vioif0", old),
            "/etc/rc.conf": ObservedFile("/etc/rc.conf", rc_conf, 0o644, "root", "wheel"),
        },
    )
    assert "/etc/rc.conf" not in [c.path for c in plan.changes]
    assert commands(plan.undo_steps) == [
        "route -q delete default",
        "route -q delete -host 198.51.100.1",
        f"sh {LIB}/netbsd-ifup release vioif0",
        f"sh {LIB}/netbsd-ifup vioif0",
        f"sh {LIB}/netbsd-ifup defaultroute",
        f"sh {LIB}/netbsd-ifup bind vioif0",
    ]


def test_plan_shows_what_a_rollback_would_run() -> None:
    rc_conf = 'hostname="old.example.org"\n'
    plan = planned("fbsd1", {"/etc/rc.conf": ObservedFile("/etc/rc.conf", rc_conf)})
    outcome = Outcome("fbsd1", "changes", plan=plan)
    text = plan_text([outcome])
    undo = text.split("if rolled back, checks of the restored files:\n")[1]
    assert undo.startswith("  sh -n /etc/rc.conf\nif rolled back, commands, in order:\n")
    assert "  hostname old.example.org\n" in undo
    (entry,) = json.loads(plan_json([outcome]))["hosts"]
    assert ["hostname", "old.example.org"] in entry["rollback"]["commands"]
    assert entry["rollback"]["checks"] == [["sh", "-n", "/etc/rc.conf"]]


def test_freebsd_names_its_cloned_interfaces_as_rc_conf_does() -> None:
    now = 'cloned_interfaces="bridge0:sticky"\nvlans_vtnet0="10 vlan20"\n'
    undo = plan_undo("freebsd", [Swap("/etc/rc.conf", now, "")])
    destroyed = [" ".join(s.argv) for s in undo.steps if s.argv[-1] == "destroy"]
    assert sorted(destroyed) == [
        "ifconfig bridge0 destroy",
        "ifconfig vlan20 destroy",
        "ifconfig vtnet0.10 destroy",
    ]


def test_a_comment_only_difference_runs_nothing() -> None:
    header = "# managed by bsdprov: local edits are overwritten on the next deploy\n"
    undo = plan_undo("openbsd", [Swap("/etc/mygate", header + "192.0.2.1\n", "192.0.2.1\n")])
    assert undo == plan_undo("openbsd", [])


def test_freebsd_restarts_the_vlans_and_bridges_a_parents_restart_re_creates() -> None:
    restored = (
        'cloned_interfaces="bridge0"\nvlans_vtnet0="vlan10"\ncreate_args_vlan10="vlan 10"\n'
        'ifconfig_vtnet0="inet 192.0.2.2 netmask 255.255.255.0"\nifconfig_vlan10="up"\n'
        'ifconfig_bridge0="addm vlan10 up"\n'
    )
    now = restored.replace("192.0.2.2", "192.0.2.3")
    undo = plan_undo("freebsd", [Swap("/etc/rc.conf", now, restored)])
    assert [" ".join(s.argv) for s in undo.steps if s.argv[:2] == ("service", "netif")] == [
        "service netif restart vtnet0",
        "service netif restart vlan10",
        "service netif restart bridge0",
    ]


def test_an_openbsd_vlan_goes_down_to_take_its_old_parent_back() -> None:
    now = "vnetid 10 parent em1\ninet 192.0.2.2 255.255.255.0\n"
    restored = "vnetid 10 parent em0\ninet 192.0.2.2 255.255.255.0\n"
    undo = plan_undo("openbsd", [Swap("/etc/hostname.vlan10", now, restored)])
    steps = [" ".join(s.argv) for s in undo.steps]
    assert steps[0] == "ifconfig vlan10 down"
    assert steps[-2:] == ["sh /etc/netstart vlan10", "ifconfig vlan10 up"]
