"""NAT for a FreeBSD bhyve hypervisor's guests (issue 14): FreeBSD pf's own translation rules
in anchor "bsdprov", hooked into pf.conf before its first filter rule, pf_enable and
gateway_enable in rc.conf, the host's address on the guests' switch (addr_NAME)."""

from __future__ import annotations

import pytest

from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory
from bsdprov.plan import ObservedFile, PlanOptions, plan_host
from bsdprov.render import Rendered, file_content, render_host
from bsdprov.render.bhyve import BHYVE_APPLY
from bsdprov.rollback import with_undo

INVENTORY = """
hosts:
  hv:
    os: freebsd
    interfaces: {{em0: {{addresses: [192.0.2.10/24]}}}}
    {extra}
    bhyve:
      vm_dir: /vm
      switches:
        public: {{ports: [em0]}}
        private: {{address: 10.0.0.1/24}}
  g1:
    os: freebsd
    vm:
      hypervisor: hv
      disk: {{path: /vm/g1/disk0.img, size: 1G}}
      nics: [{{switch: private}}]
"""
NAT = "nat: [{from: 10.0.0.0/24, out: em0}]\n    forwarding: {inet: true}"
ADMIN_PF = (
    "set skip on lo\nscrub in all\npass out all\nblock in quick on em0 proto tcp to port 23\n"
)


def render(extra: str = NAT) -> Rendered:
    inventory = parse_inventory(INVENTORY.format(extra=extra), "inv.yaml")
    return render_host(inventory.hosts["hv"], guests=inventory.guests("hv"))


def test_nat_renders_freebsd_pf_translation_in_its_anchor() -> None:
    result = render()
    files = {spec.path: spec for spec in result.files}
    rc_conf = file_content(files["/etc/rc.conf"], None)
    assert 'gateway_enable="YES"\n' in rc_conf and 'pf_enable="YES"\n' in rc_conf
    nat = file_content(files["/etc/pf.bsdprov.conf"], None)
    # FreeBSD's form, not OpenBSD's nat-to (pf.conf(5) of FreeBSD 13/14).
    assert nat.splitlines()[1:] == ["nat on em0 inet from 10.0.0.0/24 to any -> (em0)"]
    assert files["/etc/pf.bsdprov.conf"].mode == 0o600
    system_conf = file_content(files["/vm/.config/system.conf"], None)
    assert 'addr_private="10.0.0.1/24"\n' in system_conf
    # The hook goes before the admin's first filter rule: pfctl refuses translation after it.
    pf_conf = file_content(files["/etc/pf.conf"], ADMIN_PF)
    assert pf_conf == (
        "set skip on lo\nscrub in all\n"
        'nat-anchor "bsdprov"\nload anchor "bsdprov" from "/etc/pf.bsdprov.conf"\n'
        "pass out all\nblock in quick on em0 proto tcp to port 23\n"
    )
    argvs = [s.argv for s in result.steps]
    helper = next(i for i, a in enumerate(argvs) if a[:2] == ("sh", BHYVE_APPLY))
    assert argvs[helper - 4 : helper] == [
        ("kldload", "-n", "pf"),
        ("pfctl", "-f", "/etc/pf.conf"),
        ("pfctl", "-a", "bsdprov", "-f", "/etc/pf.bsdprov.conf"),
        ("pfctl", "-e"),
    ]
    assert ("pfctl", "-nf", "/etc/pf.conf") in [c.argv for c in result.checks]
    verify = [(c.argv, c.expect) for c in result.verify]
    assert (("pfctl", "-sn"), '^nat-anchor "bsdprov"') in verify
    assert (
        ("pfctl", "-a", "bsdprov", "-sn"),
        r"^nat on em0 inet from 10[.]0[.]0[.]0/24 to any -> \(em0\)",
    ) in verify
    assert (("ifconfig", "vm-private"), "inet 10[.]0[.]0[.]1 ") in verify


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "nat: [{from: 10.0.0.0/24, out: em0}]",
            "hosts.hv.nat: NAT for guests needs the host to forward IPv4: add 'forwarding: "
            "{inet: true}'",
        ),
        (
            "nat: [{from: 10.0.0.0/24, out: em7}]\n    forwarding: {inet: true}",
            "hosts.hv.nat[0].out: 'em7' is not among the host's interfaces",
        ),
    ],
)
def test_check_refuses_nat_that_cannot_work(extra: str, message: str) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(INVENTORY.format(extra=extra), "inv.yaml")
    assert message in str(caught.value)


def test_nat_on_a_freebsd_host_without_bhyve_stays_refused() -> None:
    text = "hosts:\n  h:\n    os: freebsd\n    interfaces: {em0: {}}\n"
    text += "    nat: [{from: 10.0.0.0/24, out: em0}]\n"
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, "inv.yaml")
    assert "only OpenBSD vmd hypervisors take 'nat'; this host is freebsd" in str(caught.value)


def test_a_first_nat_deploy_rolls_back_to_no_pf() -> None:
    plan = with_undo(plan_host(render(), {}, options=PlanOptions()))
    undo = [s.argv for s in plan.undo_steps]
    assert ("pfctl", "-F", "rules") in undo and ("pfctl", "-F", "nat") in undo
    assert ("pfctl", "-d") in undo, "pf was not loaded before: it is disabled again"


def test_an_admins_pf_conf_is_reloaded_on_rollback() -> None:
    observed = {"/etc/pf.conf": ObservedFile("/etc/pf.conf", ADMIN_PF, 0o600, "root", "wheel")}
    plan = with_undo(plan_host(render(), observed, options=PlanOptions()))
    undo = [s.argv for s in plan.undo_steps]
    assert ("pfctl", "-f", "/etc/pf.conf") in undo and ("pfctl", "-F", "nat") not in undo


def test_nat_dropped_from_the_inventory_leaves_pf_conf_and_the_live_anchor() -> None:
    before = {
        spec.path: file_content(spec, ADMIN_PF if spec.path == "/etc/pf.conf" else None)
        for spec in render().files
    }
    observed = {p: ObservedFile(p, t, 0o600, "root", "wheel") for p, t in before.items()}
    plan = plan_host(render(""), observed, options=PlanOptions())
    after = {c.path: c.after for c in plan.changes}
    assert after["/etc/pf.conf"] == ADMIN_PF, "the hook goes, the admin's rules stay"
    assert after["/etc/pf.bsdprov.conf"] is None, "bsdprov's NAT file is removed"
    argvs = [s.argv for s in plan.steps]
    reload = argvs.index(("pfctl", "-f", "/etc/pf.conf"))
    assert argvs.index(("pfctl", "-a", "bsdprov", "-F", "nat")) > reload
    # The rollback puts both files back and loads them.
    undo = [s.argv for s in with_undo(plan).undo_steps]
    assert ("pfctl", "-f", "/etc/pf.conf") in undo


def test_a_host_without_nat_gets_no_pf_conf() -> None:
    plan = plan_host(render(""), {}, options=PlanOptions())
    assert "/etc/pf.conf" not in {c.path for c in plan.changes}
    assert ("pfctl", "-f", "/etc/pf.conf") not in [s.argv for s in plan.steps]


def test_an_admins_pf_conf_without_the_hook_is_left_alone() -> None:
    observed = {"/etc/pf.conf": ObservedFile("/etc/pf.conf", ADMIN_PF, 0o644, "root", "wheel")}
    plan = plan_host(render(""), observed, options=PlanOptions())
    assert "/etc/pf.conf" not in {c.path for c in plan.changes}, "neither text nor mode changes"
