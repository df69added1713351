"""The boot hook is a planned line edit of /etc/rc.local (issue 16): shown, backed up, restored."""

from __future__ import annotations

from pathlib import Path

from bsdprov.apply import plan_outcome
from bsdprov.boot_hook import BOOT_HOOK, RC_LOCAL, with_boot_hook
from bsdprov.facts import ObservedFile
from bsdprov.inventory import load_inventory
from bsdprov.plan import Plan
from bsdprov.run import RunSettings, build_run
from bsdprov.testing import FakeTransport, answer

EXAMPLE = load_inventory(Path(__file__).parent.parent / "inventories" / "example.yaml")
FRESH_OPENBSD = (
    "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nabsent /etc/hostname.vio0\n"
    "absent /etc/mygate\nabsent /etc/rc.local\nBSDPROV-PROBE-END\n"
)


def plan_of(probe: str) -> Plan:
    fake = FakeTransport([answer(probe)])
    outcome = plan_outcome(fake, EXAMPLE.hosts["obsd1"])
    assert outcome.plan is not None
    assert "/etc/rc.local" in fake.scripts[0], "the probe reads rc.local"
    return outcome.plan


def test_a_deploy_plans_the_hook_first_and_shows_it() -> None:
    plan = plan_of(FRESH_OPENBSD)
    first = plan.changes[0]
    assert (first.path, first.after, first.mode) == (RC_LOCAL, BOOT_HOOK + "\n", 0o644)
    assert f"+{BOOT_HOOK}" in plan.diff()
    run = build_run(plan, RunSettings("R1", "op"))
    assert run["manifest"].decode().splitlines()[0].endswith(" absent /etc/rc.local")
    assert run["files/1"] == (BOOT_HOOK + "\n").encode()


def test_an_admins_rc_local_keeps_every_line_mode_and_owner() -> None:
    admin = "#!/bin/sh\necho starting local daemons\n"
    probe = FRESH_OPENBSD.replace(
        "absent /etc/rc.local\n",
        f"file {len(admin)} -rwxr-xr-x root wheel /etc/rc.local\n{admin}\n",
    )
    change = plan_of(probe).changes[0]
    assert change.after == f"#!/bin/sh\n{BOOT_HOOK}\necho starting local daemons\n"
    assert (change.mode, change.owner, change.group) == (0o755, "root", "wheel")


def test_no_hook_edit_when_it_is_there_or_nothing_else_changes() -> None:
    hooked = ObservedFile(RC_LOCAL, f"{BOOT_HOOK}\n", 0o644, "root", "wheel")
    plan = plan_of(FRESH_OPENBSD)
    rest = Plan(plan.host, plan.os, plan.changes[1:], plan.checks, plan.steps, plan.verify)
    assert with_boot_hook(rest, {RC_LOCAL: hooked}) == rest
    empty = Plan("h", "openbsd", (), (), (), ())
    assert with_boot_hook(empty, {}) == empty
