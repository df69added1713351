"""Issue 14, pf on a bhyve hypervisor with NAT: enabling pf activates the admin's pf.conf, whose
rules were never active while pf was off, so the plan warns and --no-confirm is refused; and once
the hook is in pf.conf, a NAT change loads only the anchor, never the admin's whole pf.conf."""

from __future__ import annotations

import pytest

from bsdprov.apply import _dormant_pf_rules
from bsdprov.facts import Facts, Live
from bsdprov.plan import ObservedFile, Plan, PlanOptions, plan_host
from bsdprov.render import file_content
from bsdprov.render.bhyve import admin_statements
from bsdprov.rollback import with_undo
from tests.test_bhyve_nat import ADMIN_PF, NAT, render

PF_CONF = "/etc/pf.conf"
ANCHOR_LOAD = ("pfctl", "-a", "bsdprov", "-f", "/etc/pf.bsdprov.conf")
WHOLE_LOAD = ("pfctl", "-f", PF_CONF)


def deployed(extra: str = NAT, pf_conf: str = ADMIN_PF) -> dict[str, ObservedFile]:
    """The files a deploy of ``extra`` left on a host whose pf.conf was ``pf_conf``."""
    return {
        spec.path: ObservedFile(
            spec.path,
            file_content(spec, pf_conf if spec.path == PF_CONF else None),
            spec.mode,
            "root",
            "wheel",
        )
        for spec in render(extra).files
    }


def facts(pf_conf: str | None, pf_enabled: bool | None) -> Facts:
    files = {PF_CONF: ObservedFile(PF_CONF, pf_conf, 0o600, "root", "wheel")}
    return Facts(
        "freebsd", "14.3-RELEASE", "amd64", files, (), None, live=Live(None, (), pf_enabled)
    )


def first_nat_plan(pf_conf: str | None) -> Plan:
    observed = {PF_CONF: ObservedFile(PF_CONF, pf_conf, 0o600, "root", "wheel")} if pf_conf else {}
    return plan_host(render(), observed, options=PlanOptions())


def test_a_nat_change_with_the_hook_in_place_loads_only_the_anchor() -> None:
    other = NAT.replace("10.0.0.0/24", "10.0.0.0/25")
    plan = with_undo(plan_host(render(other), deployed(), options=PlanOptions()))
    assert {c.path for c in plan.changes} == {"/etc/pf.bsdprov.conf"}
    argvs = [s.argv for s in plan.steps]
    assert ANCHOR_LOAD in argvs and WHOLE_LOAD not in argvs, argvs
    # Its rollback puts the old NAT rules back into the anchor, again without pf.conf.
    undo = [s.argv for s in plan.undo_steps]
    assert ANCHOR_LOAD in undo and WHOLE_LOAD not in undo, undo


def test_the_first_nat_deploy_loads_pf_conf_with_its_hook() -> None:
    argvs = [s.argv for s in first_nat_plan(ADMIN_PF).steps]
    assert argvs.index(WHOLE_LOAD) < argvs.index(("pfctl", "-e"))


def test_admin_statements_are_what_bsdprov_did_not_write() -> None:
    hooked = file_content(next(s for s in render().files if s.path == PF_CONF), "# mine\n\n")
    assert admin_statements(hooked) == ()
    assert admin_statements(ADMIN_PF)[0] == "set skip on lo"
    assert len(admin_statements(ADMIN_PF)) == 4


@pytest.mark.parametrize("pf_enabled", [False, None])
def test_enabling_pf_over_the_admins_dormant_rules_is_warned(pf_enabled: bool | None) -> None:
    warning = _dormant_pf_rules(first_nat_plan(ADMIN_PF), facts(ADMIN_PF, pf_enabled))
    assert warning is not None
    assert "this deploy enables pf (pfctl -e, for the NAT)" in warning
    assert "the 4 statement(s) of /etc/pf.conf that bsdprov did not write" in warning
    assert "'set skip on lo'" in warning and "can cut this session" in warning


def test_no_warning_when_pf_already_runs_or_pf_conf_has_no_rules_of_the_admin() -> None:
    assert _dormant_pf_rules(first_nat_plan(ADMIN_PF), facts(ADMIN_PF, True)) is None
    assert _dormant_pf_rules(first_nat_plan(None), facts(None, False)) is None
    assert _dormant_pf_rules(first_nat_plan("# only\n"), facts("# only\n", None)) is None
