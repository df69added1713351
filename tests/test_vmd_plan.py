"""Planning a vmd hypervisor: VM lifecycle, removed anchors, disks made first, the uplink held,
hypervisors before their guests, and the verify report."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.apply import DeployOptions, uplink_hold
from bsdprov.facts import ObservedFile
from bsdprov.fleet import hypervisor_stages, run_staged
from bsdprov.inventory import load_inventory, parse_inventory
from bsdprov.lifecycle import VmOptions, vm_changes
from bsdprov.outcome import Outcome
from bsdprov.plan import PlanOptions, plan_host
from bsdprov.render.base import Check, Creation, FileSpec, OwnedGlob, Rendered, Step
from bsdprov.render.hypervisor import PURGE_DISK, VMD_STEP
from bsdprov.verify import parse_verify, verify_script

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")

OLD_VM_CONF = """# managed by bsdprov
switch "lan" {
\tinterface bridge0
}

vm "web01" {
\tmemory 1G
\tdisk "/var/vmm/web01.qcow2" format qcow2
}

vm "db01" {
\tmemory 2G
\tdisk "/var/vmm/db01.qcow2" format qcow2
}
"""
NEW_VM_CONF = OLD_VM_CONF.replace('vm "db01" {\n\tmemory 2G', 'vm "db01" {\n\tmemory 4G')
RELOAD = Step(VMD_STEP, "re-read vm.conf", False, ("/etc/vm.conf",))


def rendered(*files: FileSpec, **extra: object) -> Rendered:
    return Rendered("hv1", "openbsd", "7.6", files, steps=(RELOAD,), **extra)  # type: ignore[arg-type]


def observed(path: str, content: str, mode: int = 0o644) -> dict[str, ObservedFile]:
    return {path: ObservedFile(path, content, mode, "root", "wheel")}


RELOADS = " ".join(VMD_STEP)


def argvs(steps: tuple[Step, ...]) -> list[str]:
    return [" ".join(s.argv) for s in steps]


def test_a_removed_vm_is_stopped_before_the_reload_and_its_disk_kept() -> None:
    without_db01 = OLD_VM_CONF[: OLD_VM_CONF.index('\nvm "db01"')]
    plan = plan_host(
        rendered(FileSpec("/etc/vm.conf", without_db01)), observed("/etc/vm.conf", OLD_VM_CONF)
    )
    assert argvs(plan.steps) == ["vmctl stop -w db01", RELOADS]
    assert plan.steps[0].may_fail  # it may already be stopped
    assert plan.notes == ("db01 is removed; its disk /var/vmm/db01.qcow2 is kept (--purge-disks)",)


def test_purge_disks_deletes_a_removed_vms_disk_last() -> None:
    without_db01 = OLD_VM_CONF[: OLD_VM_CONF.index('\nvm "db01"')]
    options = PlanOptions(VmOptions(purge_disks=True))
    plan = plan_host(
        rendered(FileSpec("/etc/vm.conf", without_db01)),
        observed("/etc/vm.conf", OLD_VM_CONF),
        options=options,
    )
    assert plan.steps[-1].argv == ("sh", "-c", PURGE_DISK, "vm-disk", "/var/vmm/db01.qcow2")


def test_a_disk_still_used_by_another_vm_is_never_purged() -> None:
    renamed = OLD_VM_CONF.replace('vm "db01"', 'vm "db02"')
    changes = vm_changes(OLD_VM_CONF, renamed, VmOptions(purge_disks=True))
    assert argvs(changes.before_reload) == ["vmctl stop -w db01"]
    assert changes.last == ()


def test_a_changed_vm_is_reported_and_restarted_only_when_asked() -> None:
    files = rendered(FileSpec("/etc/vm.conf", NEW_VM_CONF))
    plan = plan_host(files, observed("/etc/vm.conf", OLD_VM_CONF))
    assert argvs(plan.steps) == [RELOADS]
    assert "db01's definition changed" in plan.notes[0]
    restart = PlanOptions(VmOptions(restart_vms=True))
    plan = plan_host(files, observed("/etc/vm.conf", OLD_VM_CONF), options=restart)
    # Stopped before the reload, which ignores a running VM: started after it, redefined.
    assert argvs(plan.steps) == ["vmctl stop -w db01", RELOADS, "vmctl start db01"]
    assert plan.notes == ()


def test_an_anchor_file_no_longer_rendered_is_removed_and_its_anchor_flushed() -> None:
    glob = OwnedGlob("/etc/pf.vm/*.conf", ("pf-anchor", "vm/{stem}", "{path}"))
    keep = FileSpec("/etc/pf.vm/web01.conf", "pass\n", 0o600)
    files = rendered(keep, owned_globs=(glob,))
    seen = {
        **observed("/etc/pf.vm/web01.conf", "pass\n", 0o600),
        **observed("/etc/pf.vm/db01.conf", "block\n", 0o600),
        **observed("/etc/pf.conf", "pass\n", 0o600),
    }
    plan = plan_host(files, seen)
    assert [(c.path, c.action) for c in plan.changes] == [("/etc/pf.vm/db01.conf", "remove")]
    assert argvs(plan.steps) == ["pf-anchor vm/db01 /etc/pf.vm/db01.conf"]


def test_missing_disks_are_made_before_the_checks_and_existing_ones_never() -> None:
    creates = (
        Creation("/var/vmm", ("mkdir", "-p", "/var/vmm"), "the disks' directory"),
        Creation("/var/vmm/a.qcow2", ("vmctl", "create", "-s", "20G", "/var/vmm/a.qcow2"), "a"),
        Creation("/var/vmm/b.qcow2", ("vmctl", "create", "-s", "9G", "/var/vmm/b.qcow2"), "b"),
    )
    check = Step(("vmd", "-n"), "parse vm.conf")
    files = Rendered("hv1", "openbsd", None, (), (check,), creates=creates)
    plan = plan_host(files, {}, existing={"/var/vmm", "/var/vmm/a.qcow2"})
    assert argvs(plan.prepare) == ["vmctl create -s 9G /var/vmm/b.qcow2"]
    assert plan.has_changes and plan.checks == (check,)
    done = plan_host(files, {}, existing={c.path for c in creates})
    assert not done.has_changes and done.checks == ()


def test_the_uplink_of_a_hypervisor_is_held_unless_asked() -> None:
    hv1 = EXAMPLE.hosts["hv1"]
    hold = uplink_hold(hv1, DeployOptions())
    assert set(hold) == {"/etc/hostname.em0"}
    assert "em0 carries the SSH session" in hold["/etc/hostname.em0"]
    assert uplink_hold(hv1, DeployOptions(uplink=True)) == {}
    assert uplink_hold(EXAMPLE.hosts["web01"], DeployOptions()) == {}  # a guest's one NIC
    spec = FileSpec("/etc/hostname.em0", "inet 192.0.2.10 255.255.255.0\n", 0o640)
    plan = plan_host(Rendered("hv1", "openbsd", None, (spec,)), {}, options=PlanOptions(hold=hold))
    assert not plan.has_changes
    assert plan.notes[0].startswith("/etc/hostname.em0 differs but is left as it is: em0")


def test_hypervisors_deploy_before_their_guests() -> None:
    first, later = hypervisor_stages(EXAMPLE, list(EXAMPLE.hosts))
    assert "hv1" in first and later == {"web01": "hv1", "db01": "hv1", "obsd1": "hv1"}
    # A guest alone has no hypervisor to wait for.
    assert hypervisor_stages(EXAMPLE, ["db01"]) == (["db01"], {})


def test_a_guest_whose_hypervisor_failed_is_not_started() -> None:
    started: list[str] = []

    def action(name: str) -> Outcome:
        started.append(name)
        return Outcome(name, "rolled-back" if name == "hv1" else "changed")

    outcomes = run_staged(EXAMPLE, ["web01", "hv1", "fbsd1"], action, parallel=4)
    assert sorted(started) == ["fbsd1", "hv1"]
    assert [(o.host, o.status) for o in outcomes] == [
        ("web01", "skipped"),
        ("hv1", "rolled-back"),
        ("fbsd1", "changed"),
    ]
    assert outcomes[0].reason == "not started: its hypervisor hv1 failed"


def test_verify_reports_each_check_with_its_evidence() -> None:
    checks = (
        Check(("vmctl", "status"), "running web01$", "web01 runs"),
        Check(("rcctl", "check", "dhcpd"), r"dhcpd\(ok\)", "dhcpd runs"),
    )
    script = verify_script(checks)
    assert "vmctl status 2>&1 </dev/null" in script
    output = (
        "BSDPROV-VERIFY 0\n   ID   PID VCPUS  MAXMEM  CURMEM     TTY        OWNER    STATE NAME\n"
        "    1 48213     1    1.0G    1.0G   ttyp0         root  running web01\n"
        "BSDPROV-VERIFY-RC 0\nBSDPROV-VERIFY 1\ndhcpd(failed)\nBSDPROV-VERIFY-RC 1\n"
    )
    first, second = parse_verify(output, checks, "hv1")
    assert first.passed and first.evidence.endswith("root  running web01")
    assert not second.passed and second.evidence == "dhcpd(failed)"


def test_guest_problems_are_reported_where_they_are_written() -> None:
    text = (Path(__file__).parent.parent / "inventories" / "example.yaml").read_text()
    broken = text.replace("nics: [{switch: isolated,", "nics: [{switch: isolatd,")
    with pytest.raises(
        Exception,
        match=r"example.yaml:71: hosts.db01.vm.nics\[0\].switch: 'hv1' has no switch 'isolatd'",
    ):
        parse_inventory(broken, "example.yaml")
    twin = text.replace('"02:00:00:00:01:02"', '"02:00:00:00:01:01"')
    with pytest.raises(
        Exception, match=r"MAC '02:00:00:00:01:01' is already used by 'web01' on 'hv1'"
    ):
        parse_inventory(twin, "example.yaml")
