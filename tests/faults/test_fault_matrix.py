"""Issue 11: the fault matrix. Each row injects one fault into a real deploy on the lab and
asserts what a user would find afterwards: the host's files byte for byte (the old ones or the
new ones, nothing in between), its live network state (the same side as its files), the run's
state on the host, the controller's report line and exit code, and that the next plan is right
(changes pending after a rollback, none after a confirmed change).

Every row also goes into ``docs/reliability.md`` (see ``record.py``): what was injected, what
was expected and what was observed.

Stages of a deploy, and how a row stops it there (see ``harness.py``): upload (the upload
directory appears), locked (a paused ``cksum``, txn.sh's re-check right after the lock),
installed (a hanging OS check: the files are installed, nothing is activated yet), activating
(a hanging activation command), awaiting-confirm (the controller frozen with SIGSTOP while the
host goes on), confirming (the confirming connection dropped). At each: the controller killed
(SIGKILL) or its SSH connection cut (the host's sshd killed).
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov
from tests.faults import harness as h
from tests.faults.record import record

pytestmark = pytest.mark.e2e

ALIAS = "203.0.113.77/32"


@dataclass
class Ctx:
    lab: RunningLab
    name: str
    tmp: Path
    inventory: str  # the lab's inventory plus ALIAS on this host: the "new" state

    def deploy(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return bsdprov(*h.deploy_args(self.inventory, self.name, *extra))

    def start(self, *extra: str) -> subprocess.Popen[str]:
        return h.background(*h.deploy_args(self.inventory, self.name, *extra))


Answer = tuple[int | None, str]  # the controller's exit code (None: killed) and stdout
Act = Callable[[Ctx], Answer]
# An allowed end: (files, the run's final state, exit code). Files and the live state are
# "old" or "new"; the exit code is None when the row killed the controller.
End = tuple[str, str, int | None]


@dataclass(frozen=True)
class Row:
    id: str
    host: int  # index into the lab's hosts: 0 openbsd, 1 freebsd, 2 netbsd
    injected: str
    expected: str
    act: Act
    ends: tuple[End, ...]
    report: str = ""  # a regex the controller's line for the host must match
    xfail: str = ""


def killed(process: subprocess.Popen[str]) -> Answer:
    process.kill()
    process.communicate()
    return None, ""


def finished(process: subprocess.Popen[str]) -> Answer:
    out, _ = process.communicate(timeout=240)
    return process.returncode, out


def resumed(process: subprocess.Popen[str]) -> Answer:
    process.send_signal(signal.SIGCONT)
    return finished(process)


# --- how to get a deploy to each stage -----------------------------------------------------


def at_upload(then: Callable[[Ctx, subprocess.Popen[str]], Answer]) -> Act:
    def act(ctx: Ctx) -> Answer:
        uploads = ctx.lab.host_root(ctx.name) / "root/.bsdprov/upload"
        # A killed upload leaves its directory behind: wait for this run's.
        old = set(uploads.iterdir()) if uploads.exists() else set()
        process = ctx.start()
        h.wait_for(
            lambda: uploads.exists() and bool(set(uploads.iterdir()) - old), 60, "the upload"
        )
        return then(ctx, process)

    return act


def at_locked(then: Callable[[Ctx, subprocess.Popen[str]], Answer]) -> Act:
    def act(ctx: Ctx) -> Answer:
        with h.paused_tool(ctx.lab, ctx.name, "cksum") as reached:
            process = ctx.start()
            reached()
            if then is kill:
                return killed(process)  # leaving the block lets the host go on
            assert h.cut_connections(ctx.lab, ctx.name) >= 1, "no open connection to cut"
        return finished(process)

    return act


def at_tool(tool: str, prefix: str, then: Callable[[Ctx, subprocess.Popen[str]], Answer]) -> Act:
    def act(ctx: Ctx) -> Answer:
        # Two seconds: less than the step timeout, so the paused command itself succeeds.
        when_reached = h.hang_once(ctx.lab, ctx.name, tool, prefix, 2)
        process = ctx.start()
        when_reached()
        return then(ctx, process)

    return act


def at_awaiting_confirm(then: Callable[[Ctx, subprocess.Popen[str]], Answer]) -> Act:
    def act(ctx: Ctx) -> Answer:
        when_reached = h.hang_once(ctx.lab, ctx.name, "route", "/sbin/route -qn add", 2)
        process = ctx.start()
        when_reached()
        process.send_signal(signal.SIGSTOP)
        h.wait_for(
            lambda: any(r.state == "awaiting-confirm" for r in h.runs(ctx.lab, ctx.name)),
            30,
            "awaiting-confirm",
        )
        return then(ctx, process)

    return act


def kill(ctx: Ctx, process: subprocess.Popen[str]) -> Answer:
    return killed(process)


def cut_then_finish(ctx: Ctx, process: subprocess.Popen[str]) -> Answer:
    assert h.cut_connections(ctx.lab, ctx.name) >= 1, "no open connection to cut"
    return finished(process)


def reboot_then_kill(ctx: Ctx, process: subprocess.Popen[str]) -> Answer:
    """The host restarts (lab.reboot: every process killed, booted from the installed files,
    rc.local's hook last); the controller, cut off, is killed too."""
    ctx.lab.reboot(ctx.name)
    return killed(process)


def cut_then_resume(ctx: Ctx, process: subprocess.Popen[str]) -> Answer:
    assert h.cut_connections(ctx.lab, ctx.name) >= 1, "no open connection to cut"
    return resumed(process)


def drop_confirm_then_resume(ctx: Ctx, process: subprocess.Popen[str]) -> Answer:
    """The first confirming connection is cut as soon as it opens; later ones work."""
    drop = h.fault(ctx.lab, ctx.name, "", "drop_after", "0\n")
    gate = ctx.lab.host_root(ctx.name) / "var/log/lab-gate.log"
    seen = gate.read_text().count("dropped a connection") if gate.exists() else 0
    process.send_signal(signal.SIGCONT)
    h.wait_for(
        lambda: gate.exists() and gate.read_text().count("dropped a connection") > seen,
        60,
        "a dropped confirming connection",
    )
    drop.unlink()
    return finished(process)


# --- other faults --------------------------------------------------------------------------


def plain(ctx: Ctx) -> Answer:
    return finished(ctx.start())


def with_fault(kind: str, tool: str) -> Act:
    def act(ctx: Ctx) -> Answer:
        h.fault(ctx.lab, ctx.name, kind, tool, f"{tool}: injected by the fault matrix\n")
        return plain(ctx)

    return act


def hanging(tool: str, prefix: str) -> Act:
    """One call hangs longer than the step timeout: it is killed (exit 143)."""

    def act(ctx: Ctx) -> Answer:
        when_reached = h.hang_once(ctx.lab, ctx.name, tool, prefix, 60)
        process = ctx.start()
        when_reached()
        return finished(process)

    return act


def lock_out(ctx: Ctx) -> Answer:
    inventory = h.locked_out(ctx.lab, ctx.tmp / "lockout.yaml", ctx.name)
    done = bsdprov(*h.deploy_args(inventory, ctx.name))
    return done.returncode, done.stdout


def disk_full(directory: str) -> Act:
    def act(ctx: Ctx) -> Answer:
        h.full_fs(ctx.lab, ctx.name, directory)
        return plain(ctx)

    return act


ROLLED_BACK_BY_TIMER = (("old", "rolled-back", None),)
CONFIRMED = (("new", "applied", 0),)
STAGE_KILL = "controller killed (SIGKILL)"
STAGE_CUT = "its SSH connection cut (the host's sshd killed)"
TIMER = "the run goes on without it, nobody confirms: the timer rolls back; host old"
GOES_ON = "the controller confirms over a new connection: changed, exit 0; host new"

STAGE_REBOOT = "the host reboots"
BOOT_HOOK = "the boot hook rolls the unconfirmed run back; host old"

ROWS = [
    Row(
        "upload-kill",
        0,
        f"{STAGE_KILL} while uploading the run",
        "nothing started, or the started run rolls back by its timer; host old",
        at_upload(kill),
        (("old", "none", None), ("old", "rolled-back", None)),
    ),
    Row(
        "upload-cut",
        0,
        f"{STAGE_CUT} while uploading the run",
        "the upload fails (failed, exit 1, host old), or the started run is confirmed",
        at_upload(cut_then_finish),
        (("old", "none", 1), ("new", "applied", 0)),
    ),
    Row(
        "locked-kill", 0, f"{STAGE_KILL} at 'locked'", TIMER, at_locked(kill), ROLLED_BACK_BY_TIMER
    ),
    Row(
        "locked-cut",
        0,
        f"{STAGE_CUT} at 'locked'",
        GOES_ON,
        at_locked(cut_then_finish),
        CONFIRMED,
        r"changed \(run .*\): confirmed over a new SSH connection",
    ),
    Row(
        "installed-kill",
        0,
        f"{STAGE_KILL} at 'installed' (during the OS check)",
        TIMER,
        at_tool("netstart", "/etc/netstart -n", kill),
        ROLLED_BACK_BY_TIMER,
    ),
    Row(
        "installed-cut",
        0,
        f"{STAGE_CUT} at 'installed' (during the OS check)",
        GOES_ON,
        at_tool("netstart", "/etc/netstart -n", cut_then_finish),
        CONFIRMED,
        "changed",
    ),
    Row(
        "activating-kill",
        0,
        f"{STAGE_KILL} at 'activating'",
        TIMER,
        at_tool("route", "/sbin/route -qn add", kill),
        ROLLED_BACK_BY_TIMER,
    ),
    Row(
        "activating-cut",
        0,
        f"{STAGE_CUT} at 'activating'",
        GOES_ON,
        at_tool("route", "/sbin/route -qn add", cut_then_finish),
        CONFIRMED,
        "changed",
    ),
    Row(
        "awaiting-confirm-kill",
        0,
        f"{STAGE_KILL} at 'awaiting-confirm'",
        "nobody confirms: the timer rolls back; host old",
        at_awaiting_confirm(kill),
        ROLLED_BACK_BY_TIMER,
    ),
    Row(
        "awaiting-confirm-cut",
        0,
        f"{STAGE_CUT} at 'awaiting-confirm'",
        GOES_ON,
        at_awaiting_confirm(cut_then_resume),
        CONFIRMED,
        "changed",
    ),
    Row(
        "confirming-cut",
        0,
        "the first confirming SSH connection cut as it opens",
        "the controller retries: changed, exit 0; host new",
        at_awaiting_confirm(drop_confirm_then_resume),
        CONFIRMED,
        "changed",
    ),
    Row(
        "lock-out",
        0,
        "a change that moves the management address (new logins impossible)",
        "the timer rolls back: rolled-back, exit 4; host old and reachable",
        lock_out,
        (("old", "rolled-back", ExitCode.ROLLED_BACK),),
        rf"rolled-back \(run .*\): not confirmed within {h.CONFIRM_TIMEOUT}s",
    ),
    Row(
        "state-dir-full",
        0,
        "/var/db/bsdprov on a full file system",
        "failed at once, exit 1, saying so; host old",
        disk_full("/var/db/bsdprov"),
        (("old", "failed", ExitCode.FAILED), ("old", "none", ExitCode.FAILED)),
        "failed.*(no space|No space)",
    ),
    Row(
        "etc-full",
        1,
        "/etc on a full file system",
        "the install fails, the old files stay: failed, exit 1; host old",
        disk_full("/etc"),
        (("old", "failed", ExitCode.FAILED),),
        "failed.*(no space|No space)",
    ),
    Row(
        "installed-reboot",
        0,
        f"{STAGE_REBOOT} at 'installed' (during the OS check)",
        BOOT_HOOK,
        at_tool("netstart", "/etc/netstart -n", reboot_then_kill),
        (("old", "rolled-back", None),),
    ),
    Row(
        "activating-reboot",
        1,
        f"{STAGE_REBOOT} at 'activating'",
        BOOT_HOOK,
        at_tool("service", "/usr/sbin/service netif", reboot_then_kill),
        (("old", "rolled-back", None),),
    ),
    Row(
        "awaiting-confirm-reboot",
        0,
        f"{STAGE_REBOOT} at 'awaiting-confirm'",
        BOOT_HOOK,
        at_awaiting_confirm(reboot_then_kill),
        (("old", "rolled-back", None),),
    ),
]

# A failing and a hanging command at each step each OS's run has (from the lab's call log of a
# deploy that adds an address): where the command first runs decides the outcome.
FAILED_CHECK = (("old", "failed", ExitCode.FAILED),)
ROLLED_BACK = (("old", "rolled-back", ExitCode.ROLLED_BACK),)
STEPS = [
    (
        0,
        "netstart",
        "/etc/netstart -n",
        "the OS check (sh /etc/netstart -n vio0)",
        FAILED_CHECK,
        "check failed: sh /etc/netstart -n vio0",
    ),
    # netstart goes on when its route add fails (as OpenBSD's does); verify sees the route gone.
    (
        0,
        "route",
        "/sbin/route -qn add",
        "activation (route add in netstart)",
        ROLLED_BACK,
        "verify failed",
    ),
    (
        1,
        "service",
        "/usr/sbin/service netif",
        "activation (service netif restart)",
        ROLLED_BACK,
        "",
    ),
    (
        2,
        "ifconfig",
        "/sbin/ifconfig vioif0",
        "activation (netbsd-ifup's ifconfig)",
        ROLLED_BACK,
        "step failed",
    ),
    # netbsd-ifup puts the default route back itself (issue 11 item 3): a failure rolls back.
    (2, "route", "/sbin/route", "activation (netbsd-ifup's route)", ROLLED_BACK, "step failed"),
]
for host, tool, prefix, where, ends, because in STEPS:
    outcome, what = {
        FAILED_CHECK: ("failed, exit 1", "nothing activated; host old"),
        ROLLED_BACK: ("rolled-back, exit 4", "restored and re-activated; host old"),
        CONFIRMED: ("changed, exit 0", "the failure is tolerated; host new"),
    }[ends]
    ROWS.append(
        Row(
            f"fail-{tool}-{['openbsd', 'freebsd', 'netbsd'][host]}",
            host,
            f"{tool} fails once, in {where}",
            f"{outcome}; {what}",
            with_fault("fail-once", tool),
            ends,
            because or ("injected by the fault matrix" if ends != CONFIRMED else "changed"),
        )
    )
    ROWS.append(
        Row(
            f"hang-{tool}-{['openbsd', 'freebsd', 'netbsd'][host]}",
            host,
            f"{tool} hangs once (60 s) in {where}; --step-timeout {h.STEP_TIMEOUT}",
            f"killed at the step timeout (exit 143): {outcome}; {what}",
            hanging(tool, prefix),
            ends,
            # A killed command is exit 143, unless a helper (netbsd-ifup) reports its own.
            {FAILED_CHECK: because, ROLLED_BACK: "exit 143|step failed", CONFIRMED: "changed"}[
                ends
            ],
        )
    )


@pytest.fixture(scope="module")
def references(lab: RunningLab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, h.HostView]:
    """Each host's view after a clean deploy of ALIAS: what "new" means byte for byte."""
    work = tmp_path_factory.mktemp("reference")
    found = {}
    for name in lab.names:
        lab.reset(name)
        inventory = h.inventory_with(lab, work / f"{name}.yaml", {name: [ALIAS]})
        done = bsdprov(*h.deploy_args(inventory, name))
        assert done.returncode == 0, done.stdout + done.stderr
        found[name] = h.view(lab, name)
    return found


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            r, id=r.id, marks=[pytest.mark.xfail(strict=True, reason=r.xfail)] if r.xfail else []
        )
        for r in ROWS
    ],
)
def test_fault(
    row: Row, lab: RunningLab, references: dict[str, h.HostView], tmp_path: Path
) -> None:
    name = lab.names[row.host]
    lab.reset(name)
    ctx = Ctx(lab, name, tmp_path, h.inventory_with(lab, tmp_path / "new.yaml", {name: [ALIAS]}))
    before = h.view(lab, name)
    new = references[name]
    observed = None
    try:
        exit_code, report = row.act(ctx)
        observed = observe(ctx, before, new, exit_code, report)
        check(row, observed, ctx)
    finally:
        record("matrix", row.id, row.injected, row.expected, observed, row.xfail)


def observe(
    ctx: Ctx, before: h.HostView, new: h.HostView, exit_code: int | None, report: str
) -> h.Observed:
    last = h.settle(ctx.lab, ctx.name, 90)
    after = h.view(ctx.lab, ctx.name)
    plan = bsdprov("plan", "--host", ctx.name, "-i", ctx.inventory, "--detailed-exitcode")
    return h.Observed(
        exit_code,
        h.report_line(report, ctx.name),
        h.classify(after.files, before.files, new.files),
        h.classify(after.live, before.live, new.live),
        last.state if last else "none",
        last.reason if last else "",
        plan.returncode,
    )


def check(row: Row, seen: h.Observed, ctx: Ctx) -> None:
    """The row's own expectation, then the invariant every row shares."""
    assert (seen.files, seen.run_state, seen.exit_code) in row.ends, seen.summary()
    if row.report:
        assert re.search(row.report, seen.report), seen.report
    check_invariant(seen)


def check_invariant(seen: h.Observed) -> None:
    """Old state whole, or new state confirmed; the report agrees with the host; the next plan
    is right."""
    assert seen.files == seen.live, f"files {seen.files} but live state {seen.live}"
    if seen.run_state == "applied":
        assert seen.files == "new" and seen.next_plan == 0, seen.summary()
    else:
        assert seen.files == "old" and seen.next_plan == ExitCode.CHANGES_PENDING, seen.summary()
    if seen.exit_code is not None and seen.report:
        status = {"applied": "changed", "rolled-back": "rolled-back"}.get(seen.run_state, "failed")
        said = seen.report.split()[1].rstrip(":")
        assert said == status or (said == "unreachable" and seen.run_state != "applied"), (
            f"the report says {said!r}, the host's run is {seen.run_state!r}: {seen.report}"
        )
        if said != "unreachable" and seen.reason:
            assert seen.reason in seen.report, f"report {seen.report!r}, host {seen.reason!r}"


def test_concurrent_deploys_one_wins_the_other_is_refused(lab: RunningLab, tmp_path: Path) -> None:
    name = lab.names[2]
    lab.reset(name)
    first = h.inventory_with(lab, tmp_path / "a.yaml", {name: ["203.0.113.77/32"]})
    second = h.inventory_with(lab, tmp_path / "b.yaml", {name: ["203.0.113.78/32"]})
    injected = "two deploys of different changes to one host, started at the same moment"
    expected = "one changed (exit 0); the other failed (exit 1), saying why; host = the winner's"
    observed = None
    try:
        controllers = [h.background(*h.deploy_args(i, name)) for i in (first, second)]
        answers = [finished(c) for c in controllers]
        last = h.settle(lab, name)
        plans = [
            bsdprov("plan", "--host", name, "-i", i, "--detailed-exitcode").returncode
            for i in (first, second)
        ]
        codes = sorted(code or 0 for code, _ in answers)
        winner = 0 if answers[0][0] == 0 else 1
        observed = h.Observed(
            codes[1],
            " / ".join(h.report_line(out, name) for _, out in answers),
            "new",
            "new",
            last.state if last else "none",
            last.reason if last else "",
            plans[winner],
        )
        assert codes == [0, 1], observed.report
        loser = h.report_line(answers[1 - winner][1], name)
        assert re.search(
            r"failed.*(did not finish|another run holds the lock|changed since plan)", loser
        ), loser
        assert plans[winner] == 0 and plans[1 - winner] == ExitCode.CHANGES_PENDING
        assert last is not None and last.state in ("applied", "failed")
    finally:
        record("matrix", "concurrent-deploys", injected, expected, observed)


def test_one_hosts_malformed_reply_leaves_the_others_reported(
    lab: RunningLab, tmp_path: Path
) -> None:
    lab.reset()
    bad, *others = lab.names
    inventory = h.inventory_with(lab, tmp_path / "all.yaml", {n: [ALIAS] for n in lab.names})
    h.fault(lab, bad, "fail", "uname", "uname: garbled\n")
    injected = f"{bad}'s uname fails (its probe reply is malformed); deploy --all"
    expected = f"{bad} failed with the probe's error, the others changed; exit 1; {bad} untouched"
    observed = None
    try:
        done = bsdprov(*h.deploy_args(inventory, ",".join(lab.names)))
        observed = h.Observed(
            done.returncode,
            h.report_line(done.stdout, bad),
            "old",
            "old",
            "none",
            "",
            ExitCode.CHANGES_PENDING,
        )
        assert done.returncode == ExitCode.FAILED, done.stdout + done.stderr
        assert re.search(rf"{bad}  failed: host '{bad}': unsupported system", done.stdout)
        for name in others:
            assert f"{name}  changed (run " in done.stdout
        assert not h.runs(lab, bad)
    finally:
        record("matrix", "malformed-reply", injected, expected, observed)
