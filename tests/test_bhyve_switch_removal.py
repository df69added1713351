"""A vm-bhyve switch or port dropped from the inventory leaves system.conf and the running
system in the same run (issue 14): bsdprov records the switches it declared, so only its own
go, and the rollback brings them back through the same helper."""

from __future__ import annotations

from bsdprov.inventory import parse_inventory
from bsdprov.lifecycle import VmOptions
from bsdprov.plan import ObservedFile, Plan, PlanOptions, plan_host
from bsdprov.render import file_content, render_host
from bsdprov.render.bhyve import BHYVE_APPLY
from bsdprov.rollback import with_undo

INVENTORY = """
hosts:
  hv:
    os: freebsd
    interfaces: {{em0: {{addresses: [192.0.2.10/24]}}, em1: {{}}}}
    bhyve: {{vm_dir: /vm, switches: {switches}}}
  g1:
    os: freebsd
    vm:
      hypervisor: hv
      disk: {{path: /vm/g1/disk0.img, size: 1G}}
      nics: [{{switch: public, mac: "00:50:56:00:01:aa"}}]
"""
V1 = "{public: {ports: [em0, em1]}, lan: {}}"
V2 = "{public: {ports: [em0]}}"
SYSTEM_CONF = "/vm/.config/system.conf"
RECORD = "/vm/.config/bsdprov-switches"


def files(switches: str) -> dict[str, str]:
    inventory = parse_inventory(INVENTORY.format(switches=switches), "inv.yaml")
    result = render_host(inventory.hosts["hv"], guests=inventory.guests("hv"))
    return {spec.path: file_content(spec, None) for spec in result.files}


def plan(switches: str, old: dict[str, str]) -> Plan:
    inventory = parse_inventory(INVENTORY.format(switches=switches), "inv.yaml")
    result = render_host(inventory.hosts["hv"], guests=inventory.guests("hv"))
    observed = {p: ObservedFile(p, text, 0o644, "root", "wheel") for p, text in old.items()}
    return plan_host(result, observed, options=PlanOptions(vms=VmOptions()))


def with_admins_switch(text: str) -> str:
    """system.conf as the admin extended it: their own switch "mine" beside bsdprov's."""
    return text.replace('switch_list="', 'switch_list="mine ') + 'type_mine="standard"\n'


def test_a_dropped_switch_leaves_system_conf_and_the_helper_tears_it_down() -> None:
    v1 = files(V1)
    v1[SYSTEM_CONF] = with_admins_switch(v1[SYSTEM_CONF])
    assert v1[RECORD].splitlines()[1:] == ["public", "lan"]
    result = plan(V2, v1)
    after = {c.path: c.after for c in result.changes}
    conf = after[SYSTEM_CONF]
    assert conf is not None
    assert 'switch_list="mine public"' in conf or 'switch_list="public mine"' in conf
    assert "type_lan" not in conf and 'type_mine="standard"' in conf, "the admin's switch stays"
    assert after[RECORD] == files(V2)[RECORD]
    helper = next(s for s in result.steps if s.argv[:2] == ("sh", BHYVE_APPLY))
    assert helper.argv[3] == "public lan", "the helper is told the dropped switch"
    assert any("switch lan is removed: its bridge vm-lan is destroyed" in n for n in result.notes)
    assert any("em1 leaves switch public" in n for n in result.notes)
    # The rollback runs the helper with the same switches on the restored files: lan is back.
    undo = [s.argv for s in with_undo(result).undo_steps]
    assert ("sh", BHYVE_APPLY, "/vm", "public lan", "g1") in undo


def test_without_a_record_no_switch_is_taken_for_bsdprovs() -> None:
    # A host deployed before bsdprov kept its record: "lan" may be the admin's; it stays.
    v1 = files(V1)
    del v1[RECORD]
    result = plan(V2, v1)
    conf = next(c.after for c in result.changes if c.path == SYSTEM_CONF)
    assert conf is not None and 'type_lan="standard"' in conf and "lan" in conf.splitlines()[0]
    helper = next(s for s in result.steps if s.argv[:2] == ("sh", BHYVE_APPLY))
    assert helper.argv[3] == "public"
    assert not any("is removed" in n for n in result.notes)


def test_an_unchanged_host_plans_nothing() -> None:
    assert plan(V1, files(V1)).changes == ()


def test_a_guest_moved_to_another_switch_without_restart_is_not_verified_on_it() -> None:
    # Without --restart-vms the running guest keeps its tap on the old switch: verify must not
    # expect it on the new one (that failed the deploy and rolled it back); with it, it does.
    two = "{public: {ports: [em0]}, lan: {}}"
    old = files(two)
    inventory = parse_inventory(
        INVENTORY.format(switches=two).replace("switch: public", "switch: lan"), "inv.yaml"
    )
    result = render_host(inventory.hosts["hv"], guests=inventory.guests("hv"))
    observed = {p: ObservedFile(p, text, 0o644, "root", "wheel") for p, text in old.items()}
    for restart, expected in ((False, False), (True, True)):
        planned = plan_host(
            result, observed, options=PlanOptions(vms=VmOptions(restart_vms=restart))
        )
        checks = [(c.argv, c.expect) for c in planned.verify]
        assert (((VM, "info", "g1"), "bridge: vm-lan$") in checks) is expected
        assert ((VM, "list"), "^g1 .* Running ") in checks


VM = "/usr/local/sbin/vm"
