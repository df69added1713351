"""Plan, deploy, roll back and list runs on one host, over any transport.

The host does the work (``remote/txn.sh``); this module probes, plans, uploads the run, starts
it detached, waits, and confirms over a *new* connection, which is what proves access survived.
Straight-line: every decision is in the pure core (render, plan, facts, and run: the on-host
run protocol). Planning, verify and history need only a ``Reader``; applying needs a
``Transport``.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from os import environ
from typing import Protocol

from bsdprov.boot_hook import RC_LOCAL, with_boot_hook
from bsdprov.drift import (
    Drift,
    compare,
    expected_live,
    live_section,
    outputs_by_command,
    session_address_owner,
    unread,
)
from bsdprov.errors import ApplyError, BsdprovError, ConnectError, ProbeError, TransportError
from bsdprov.facts import (
    PROBE_HEAD,
    PROBE_PATH,
    RUN_TOOLS,
    Facts,
    ObservedFile,
    parse_facts,
    probe_script,
)
from bsdprov.fleet import internal_error
from bsdprov.lifecycle import VmOptions
from bsdprov.model import OS_NAMES, Host
from bsdprov.outcome import Outcome, RunRecord, Status
from bsdprov.ownership import (
    INTERFACE_FILES,
    RECORD,
    claim,
    session_address_removal,
    with_record,
)
from bsdprov.plan import FileChange, Plan, PlanOptions, plan_host
from bsdprov.render import LineEdit, Rendered, render_host
from bsdprov.render.bhyve import admin_statements
from bsdprov.render.hypervisor import SYSCTL_CONF
from bsdprov.render.pf import PF_CONF
from bsdprov.rollback import Swap, plan_undo, with_undo
from bsdprov.run import (
    FINAL_STATES,
    RunSettings,
    RunState,
    backup_script,
    build_run,
    confirm_script,
    history_script,
    interrupted_rollback_script,
    parse_backup,
    parse_history,
    parse_resume,
    parse_start,
    parse_state,
    resume_script,
    rollback_script,
    run_dir,
    start_script,
    unfinished,
)
from bsdprov.session import Reader, Transport
from bsdprov.verify import CheckResult, parse_verify, verify_script
from bsdprov.vmd import Guest, uplink_interface

# What a run's final state means in the report; any other state is a failure ("unreachable"
# is _confirm's word for a host no new connection reached).
STATUS_OF_STATE: dict[str, Status] = {
    RunState.APPLIED: "changed",
    RunState.FAILED: "failed",
    RunState.ROLLED_BACK: "rolled-back",
    RunState.ROLLBACK_FAILED: "failed",
    "unreachable": "unreachable",
}


Connector = Callable[[Host], Transport]


class Clock(Protocol):
    """What waiting for a confirmation needs of time; tests give a fake that never sleeps."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


@dataclass(frozen=True, slots=True)
class DeployOptions:
    confirm: bool = True
    confirm_timeout: int = 120
    step_timeout: int = 120
    user: str = "unknown"
    restart_vms: bool = False
    purge_disks: bool = False
    uplink: bool = False
    # The clock the controller waits by while it confirms (injected by tests).
    clock: Clock = SYSTEM_CLOCK


def renderings(host: Host, guests: tuple[Guest, ...] = ()) -> list[Rendered]:
    """The host rendered for each OS it may run (all of them when ``os:`` is unset)."""
    found = []
    for os in [host.os] if host.os else list(OS_NAMES):
        try:
            found.append(render_host(host, os, guests=guests))
        except BsdprovError:
            continue
    return found


def gather(
    session: Reader,
    host: Host,
    guests: tuple[Guest, ...] = (),
    rendered: list[Rendered] | None = None,
) -> Facts:
    """One exec: uname, the managed files and bsdprov's runs on the host. ``rendered``:
    ``renderings(host, guests)``, when the caller has them already."""
    script = probe_for(host, rendered if rendered is not None else renderings(host, guests))
    result = session.run_script(script, timeout=60)
    facts = parse_facts(result.stdout, host.name)
    if host.os is not None and facts.os != host.os:
        raise ProbeError(
            f"host {host.name!r}: the inventory says os {host.os!r} but the host "
            f"runs {facts.os} {facts.release}; fix 'os' in the inventory"
        )
    return facts


def probe_for(host: Host, rendered: list[Rendered]) -> str:
    """The probe script of ``host``, from its ``renderings``."""
    files = [spec for r in rendered for spec in r.files]
    # The running values a rollback puts back: the sysctls the renderings set, and pf's state.
    sysctls = [
        line.partition("=")[0]
        for spec in files
        if isinstance(spec, LineEdit) and spec.path == SYSCTL_CONF
        for line in spec.lines
    ]
    return probe_script(
        [RC_LOCAL, RECORD, *(spec.path for spec in files)],
        exists=[c.path for r in rendered for c in r.creates],
        globs=[g.pattern for r in rendered for g in r.owned_globs],
        commands=[argv[0] for r in rendered for argv in _commands(r)],
        sysctls=sysctls,
        pf=any(spec.path == PF_CONF for spec in files),
        macs=[name for name, itf in host.interfaces.items() if itf.mac],
        drift=live_section(live_commands(host, rendered)),
        record=RECORD,
        listed=[INTERFACE_FILES[r.os] for r in rendered if r.os in INTERFACE_FILES],
    )


def live_commands(host: Host, rendered: list[Rendered]) -> tuple[tuple[str, ...], ...]:
    """The read commands of every rendering's live facts, each once (the probe runs them
    before it knows the OS when the inventory names none)."""
    found = [argv for r in rendered for argv in expected_live(host, r).commands]
    return tuple(dict.fromkeys(found))


def live_drift(
    host: Host,
    rendered: Rendered,
    facts: Facts,
    guests: tuple[Guest, ...],
    probed: list[Rendered] | None = None,
) -> tuple[Drift, ...]:
    """How the running system the probe read differs from what ``rendered``'s files mean.
    ``probed``: the renderings the probe was made from (``renderings(host, guests)``)."""
    commands = live_commands(host, renderings(host, guests) if probed is None else probed)
    return compare(expected_live(host, rendered), outputs_by_command(commands, facts.drift))


def _commands(rendered: Rendered) -> list[tuple[str, ...]]:
    """Every command line a run of ``rendered`` may execute."""
    return [
        *(step.argv for step in (*rendered.steps, *rendered.checks)),
        *(check.argv for check in rendered.verify),
        *(creation.argv for creation in rendered.creates),
    ]


def missing_commands(plan: Plan, facts: Facts) -> tuple[str, ...]:
    """The commands this plan's run needs (bsdprov's own and its steps' and checks') that the
    probe found missing on the host."""
    needed = {*RUN_TOOLS}
    for step in (*plan.steps, *plan.checks, *plan.prepare):
        needed.add(step.argv[0])
    needed.update(check.argv[0] for check in plan.verify)
    return tuple(tool for tool in facts.missing_tools if tool in needed)


def uplink_hold(host: Host, options: DeployOptions) -> dict[str, str]:
    """On a hypervisor, the files of the interface carrying the SSH session stay as they are
    unless ``--uplink``: every VM's connectivity hangs on that interface too."""
    name = uplink_interface(host)
    if options.uplink or not host.is_hypervisor or name is None:
        return {}
    return {f"/etc/hostname.{name}": f"{name} carries the SSH session; deploy --uplink changes it"}


def plan_one(
    session: Reader,
    host: Host,
    guests: tuple[Guest, ...] = (),
    options: DeployOptions = DeployOptions(),
    reached: str | None = None,
) -> tuple[Plan, Facts]:
    """Probe the host and plan it: touches nothing."""
    # Rendering is most of a plan's own CPU: the probe's renderings serve the drift too.
    probed = renderings(host, guests)
    facts = gather(session, host, guests, probed)
    rendered = render_host(host, facts.os, facts.release, guests)
    choices = PlanOptions(
        VmOptions(options.restart_vms, options.purge_disks), uplink_hold(host, options)
    )
    drift = live_drift(host, rendered, facts, guests, probed)
    listed = [p for p in facts.existing if p.startswith(("/etc/hostname.", "/etc/ifconfig."))]
    claimed = claim(host, rendered, facts.files, listed, choices.hold)
    plan = plan_host(claimed.rendered, facts.files, facts.existing, choices, drift)
    plan = with_record(plan, claimed, facts.files)
    plan = with_undo(with_boot_hook(plan, facts.files), facts.live)
    not_read = unread(live_commands(host, probed), facts.drift)
    if not_read:
        plan = replace(plan, notes=(*plan.notes, *not_read))
    if reached is not None and plan.has_changes:
        plan = replace(
            plan,
            notes=(
                *plan.notes,
                f"connected through previous_address {reached}: address {host.address} does "
                f"not answer yet; the run is confirmed through {host.address} only"
                + (
                    ""
                    if host.host_key
                    else f" (its key must be in known_hosts for {host.address}, or pin host_key)"
                ),
            ),
        )
    return plan, facts


# Why a connection failed that a moved address explains; auth or host-key failures mean
# something answered there, and are never retried at another address.
MOVED_CAUSES = ("dns", "refused", "timeout", "other")


def reach(connect: Connector, host: Host) -> tuple[Transport, str | None]:
    """A connection to ``address``, else (when it does not answer and the inventory gives
    ``previous_address``) to the previous address, which the second value names."""
    try:
        return connect(host), None
    except ConnectError as first:
        previous = host.previous_address
        if previous is None or first.cause not in MOVED_CAUSES:
            raise
        try:
            return connect(host.model_copy(update={"address": previous})), previous
        except ConnectError as second:
            raise ConnectError(
                f"{first}; previous_address {previous}: {second}",
                host=host.name,
                cause=second.cause,
            ) from None


def dropped_session_address(
    host: Host, facts: Facts, plan: Plan, guests: tuple[Guest, ...] = ()
) -> str | None:
    """The interface whose live ``address`` (the one bsdprov connects through) this plan's
    files no longer declare, or whose removals (an interface dropped whole) delete it: no new
    connection to it could confirm the run."""
    if not plan.has_changes or host.address is None:
        return None
    commands = live_commands(host, renderings(host, guests))
    outputs = outputs_by_command(commands, facts.drift)
    return session_address_owner(host, host.address, outputs) or session_address_removal(
        plan.removals, facts.files, host.address
    )


def unfinished_warnings(facts: Facts) -> tuple[str, ...]:
    return tuple(
        f"run {r.run_id} did not finish (state {r.state}): "
        + (
            "it is still in progress, or waiting for its confirmation"
            if r.alive
            else "its process is gone; the next deploy rolls it back first"
        )
        for r in unfinished(facts.runs)
    )


def _roll_back_interrupted(session: Transport, facts: Facts) -> None:
    """Undo runs whose process died (killed, or a --no-confirm run cut off) before planning."""
    for run in unfinished(facts.runs):
        if not run.alive:
            session.run_script(interrupted_rollback_script(run.run_id), timeout=600, check=False)


def _resume_failed_rollbacks(session: Transport, host: Host, run_ids: list[str]) -> bool:
    """Redo what rollbacks that failed half-way left (``txn.sh resume``), oldest first.

    Returns whether any was resumed (the files may have changed); raises ``ApplyError`` naming
    the steps still failing. A run from before failed rollbacks recorded their steps has
    nothing to resume and is left as it is.
    """
    resumed = False
    for run_id in run_ids:
        answer = session.run_script(resume_script(run_id), timeout=600, check=False)
        state, reason, left = parse_resume(answer.stdout_text)
        if state == RunState.UNKNOWN:
            continue
        if state == RunState.ROLLBACK_FAILED and left:
            raise ApplyError(
                f"host {host.name!r}: run {run_id}'s rollback failed half-way and cannot be "
                f"finished: {reason}; fix the cause on the host and run again, or remove "
                f"{run_dir(run_id)}/remaining to go on without those steps"
            )
        resumed = resumed or state == RunState.ROLLED_BACK
    return resumed


def plan_outcome(
    session: Reader,
    host: Host,
    guests: tuple[Guest, ...] = (),
    options: DeployOptions = DeployOptions(),
    reached: str | None = None,
) -> Outcome:
    """What a deploy would do (a dry run): the plan, and what would stop or slow the deploy.
    ``reached`` is the previous address the session went to (``reach``), if any."""
    plan, facts = plan_one(session, host, guests, options, reached)
    status: Status = "changes" if plan.has_changes else "unchanged"
    warnings = unfinished_warnings(facts) + tuple(
        f"the host lacks {tool}, which a deploy needs"
        for tool in (missing_commands(plan, facts) if plan.has_changes else ())
    )
    dropped = dropped_session_address(host, facts, plan, guests) if reached is None else None
    warnings += (_session_address_lost(host, dropped),) if dropped else ()
    warnings += tuple(_default_route_removed(removal) for removal in _default_removals(plan))
    dormant = _dormant_pf_rules(plan, facts)
    warnings += (dormant,) if dormant else ()
    return Outcome(host.name, status, plan=plan, warnings=warnings)


def _dormant_pf_rules(plan: Plan, facts: Facts) -> str | None:
    """Why enabling pf is dangerous here: the plan runs ``pfctl -e`` (a bhyve host's NAT) on a
    FreeBSD host whose pf is off or not loaded, and its pf.conf holds the admin's statements,
    which have never been active and become so (a ``block`` among them can cut the session)."""
    if facts.os != "freebsd" or facts.live.pf_enabled is True:
        return None
    if not any(step.argv == ("pfctl", "-e") for step in plan.steps):
        return None
    observed = facts.files.get(PF_CONF)
    statements = admin_statements(observed.content if observed else None)
    if not statements:
        return None
    state = "off" if facts.live.pf_enabled is False else "not loaded"
    return (
        f"this deploy enables pf (pfctl -e, for the NAT), which is {state} now: the "
        f"{len(statements)} statement(s) of {PF_CONF} that bsdprov did not write (first: "
        f"{statements[0]!r}) become active for the first time, and a block rule among them "
        "can cut this session; only the confirmation timer would turn pf off again"
    )


def _default_removals(plan: Plan) -> tuple[str, ...]:
    """The removals that delete a default route."""
    return tuple(
        r.what
        for r in plan.removals
        if any(s.argv[0] == "route" and "delete" in s.argv and "default" in s.argv for s in r.steps)
    )


def _default_route_removed(what: str) -> str:
    return (
        f"this deploy removes {what}: a controller that is not on one of the host's own "
        "networks loses its session, and only the confirmation timer brings the route back"
    )


def _session_address_lost(host: Host, interface: str) -> str:
    return (
        f"this deploy removes {host.address} from {interface}, the address bsdprov connects "
        "through, so no new connection could confirm it: give the new address as 'address' "
        f"and {host.address} as 'previous_address' (docs/deploy.md#moving-the-management-"
        "address)"
    )


def deploy_one(
    connect: Connector,
    host: Host,
    run_id: str,
    options: DeployOptions,
    guests: tuple[Guest, ...] = (),
    expect: Callable[[Plan], None] | None = None,
) -> Outcome:
    """Plan and apply one host as one on-host transaction (``plan_outcome`` is the dry run).
    ``expect`` sees the plan about to be applied and may refuse it (a saved plan, raising
    ``ApplyError``) before anything is sent."""
    session, reached = reach(connect, host)
    try:
        plan, facts = plan_one(session, host, guests, options, reached)
        dropped = dropped_session_address(host, facts, plan, guests) if reached is None else None
        if dropped:
            lost = _session_address_lost(host, dropped)
            raise ApplyError(f"host {host.name!r}: {lost}; nothing was changed")
        defaults = _default_removals(plan)
        if defaults and not options.confirm:
            raise ApplyError(
                f"host {host.name!r}: {_default_route_removed(defaults[0])}, and --no-confirm "
                "turns that timer off; deploy with the confirmation, nothing was changed"
            )
        dormant = _dormant_pf_rules(plan, facts)
        if dormant and not options.confirm:
            raise ApplyError(
                f"host {host.name!r}: {dormant}, and --no-confirm turns that timer off; deploy "
                "with the confirmation, nothing was changed"
            )
        missing = missing_commands(plan, facts) if plan.has_changes else ()
        if missing:
            raise ApplyError(
                f"host {host.name!r} lacks commands a run needs: {', '.join(missing)} "
                f"(looked for in {PROBE_PATH}); install them first, nothing was changed"
            )
        if any(r.alive for r in unfinished(facts.runs)):
            raise ApplyError(
                f"host {host.name!r}: {unfinished_warnings(facts)[0]}; deploy again once it is done"
            )
        if unfinished(facts.runs):
            _roll_back_interrupted(session, facts)
            plan, facts = plan_one(session, host, guests, options, reached)
        failed = [r.run_id for r in facts.runs if r.state == RunState.ROLLBACK_FAILED]
        if failed and _resume_failed_rollbacks(session, host, failed):
            plan, facts = plan_one(session, host, guests, options, reached)
        if expect is not None:
            expect(plan)
        if not plan.has_changes:
            return Outcome(host.name, "unchanged", plan=plan)
        return _transact(connect, session, host, plan, run_id, options, "deploy")
    finally:
        session.close()


def _transact(
    connect: Connector,
    session: Transport,
    host: Host,
    plan: Plan,
    run_id: str,
    options: DeployOptions,
    kind: str,
) -> Outcome:
    timeout = options.confirm_timeout if options.confirm else 0
    settings = RunSettings(run_id, options.user, kind, timeout, options.step_timeout)
    uploads = f"{session.home().rstrip('/')}/.bsdprov/upload"
    run_dir(run_id)  # refuses an id that is not one path component, before anything is sent
    upload = f"{uploads}/{run_id}"
    session.put_files(build_run(plan, settings), upload)
    try:
        return _started(connect, session, host, plan, run_id, options, uploads)
    except Exception as exc:
        # The start may have reached the host, where the run goes on by itself (nohup): the
        # report must say so and name the run, not only the error.
        if environ.get("BSDPROV_TRACEBACK") and not isinstance(exc, BsdprovError):
            raise
        what = str(exc) if isinstance(exc, BsdprovError) else internal_error(exc)
        left = (
            f"unless confirmed, the host's timer rolls it back {timeout} s after arming it"
            if timeout
            else "no timer was armed (--no-confirm): the host keeps what the run ends with"
        )
        return Outcome(
            host.name,
            "failed",
            f"{what}; run {run_id} was started on the host and bsdprov lost track of it: "
            f"{left} ('bsdprov history --host {host.name}' shows how it ended)",
            plan,
            run_id,
        )


def _started(
    connect: Connector,
    session: Transport,
    host: Host,
    plan: Plan,
    run_id: str,
    options: DeployOptions,
    uploads: str,
) -> Outcome:
    """Start the uploaded run and follow it to its end: confirmed, rolled back or failed."""
    timeout = options.confirm_timeout if options.confirm else 0
    wait = max(timeout, 60) + options.step_timeout
    try:
        result = session.run_script(
            start_script(uploads, run_id, wait), timeout=wait + 30, check=False
        )
    except TransportError:
        # The change may have cut this very connection: only a new one can tell.
        session.close()
        state, reason = _confirm(connect, host, run_id, timeout, options)
        return Outcome(host.name, STATUS_OF_STATE.get(state, "failed"), reason, plan, run_id)
    answer = parse_start(result.stdout_text)
    state, reason = answer.state, answer.reason
    if answer.not_started:
        state, reason = "failed", f"the run did not start on the host: {answer.not_started}"
        said = [line for line in result.stderr_text.splitlines() if line.strip()]
        if result.exit_code and said:
            reason += f" ({said[-1].strip()})"
    elif state == RunState.AWAITING_CONFIRM or (state not in FINAL_STATES and answer.alive):
        session.close()
        state, reason = _confirm(connect, host, run_id, timeout, options)
    elif state not in FINAL_STATES:
        # start stopped half-way and nothing works on the run any more: undo it now, while
        # the host is reachable, rather than leave it to the next deploy.
        why = f"txn.sh start stopped at state {state}{answer.exit_detail} with no process left"
        undone = session.run_script(rollback_script(run_id, why), timeout=600, check=False)
        state, reason, _ = parse_state(undone.stdout_text)
        reason = reason or why
    status = STATUS_OF_STATE.get(state, "failed")
    return Outcome(host.name, status, reason, plan, run_id, journal=answer.journal)


def _confirm(
    connect: Connector, host: Host, run_id: str, timeout: int, options: DeployOptions
) -> tuple[str, str]:
    """Confirm over new connections until the host decides; None of them is the old one. The
    report says what was seen: no connection at all, or a host that answered but never
    decided (and whether a timer was there to roll it back)."""
    clock = options.clock
    deadline = clock.monotonic() + timeout + options.step_timeout + 15
    last_error = "no new connection succeeded"
    seen = ""  # the last state a new connection reported
    while clock.monotonic() < deadline:
        try:
            session = connect(host)
        except TransportError as exc:
            last_error = str(exc)
            clock.sleep(2)
            continue
        try:
            result = session.run_script(confirm_script(run_id), timeout=30, check=False)
        except TransportError as exc:
            last_error = str(exc)
            continue
        finally:
            session.close()
        state, reason, _ = parse_state(result.stdout_text)
        if state in FINAL_STATES:
            return state, reason
        if state == RunState.UNKNOWN and f"no run {run_id}" in result.stderr_text:
            return "failed", f"the host has no run {run_id}: it never started; nothing was changed"
        seen = state
        clock.sleep(1)
    timer = (
        f"its timer rolls it back {timeout}s after it was armed"
        if timeout > 0
        else "no timer was armed (--no-confirm), so it stays as it is until the next deploy"
    )
    if seen:
        return "failed", (
            f"the host answered, but run {run_id} stayed in state {seen} and was not "
            f"confirmed; {timer}"
        )
    unconfirmed = f"no new SSH connection could confirm the run ({last_error})"
    state, reason, said = _previous_report(connect, host, run_id)
    if state in FINAL_STATES:
        # Read at the address the host moved from: the host's own verdict, e.g. its timer's.
        return state, f"{reason}; {unconfirmed}; {said}"
    return "unreachable", f"{unconfirmed}; if the run started, {timer}{'; ' + said if said else ''}"


def _previous_report(connect: Connector, host: Host, run_id: str) -> tuple[str, str, str]:
    """The run's state and reason as the host reports them at ``previous_address`` when
    ``address`` never answered, and a sentence saying so. Read only: a run is never confirmed
    through the address it moves away from."""
    previous = host.previous_address
    if previous is None or previous == host.address:
        return RunState.UNKNOWN, "", ""
    try:
        session = connect(host.model_copy(update={"address": previous}))
    except TransportError:
        return RunState.UNKNOWN, "", f"previous_address {previous} does not answer either"
    try:
        script = f"sh {shlex.quote(run_dir(run_id) + '/txn.sh')} wait {shlex.quote(run_id)} 0\n"
        state, reason, _ = parse_state(
            session.run_script(script, timeout=30, check=False).stdout_text
        )
    except TransportError:
        state, reason = RunState.UNKNOWN, ""
    finally:
        session.close()
    return state, reason, f"read at previous_address {previous}: run state {state}"


def verify_one(
    session: Reader, host: Host, guests: tuple[Guest, ...] = ()
) -> tuple[CheckResult, ...]:
    """Run every verify check of the host's rendering (read-only) and report each."""
    answer = session.run_script(PROBE_HEAD + "echo 'BSDPROV-PROBE-END'\n", timeout=30).stdout
    facts = parse_facts(answer, host.name)
    checks = render_host(host, facts.os, facts.release, guests).verify
    output = session.run_script(verify_script(checks), timeout=120, check=False).stdout_text
    return parse_verify(output, checks, host.name)


# --- history and rollback ----------------------------------------------------------------------


def history_one(session: Reader) -> list[RunRecord]:
    """The runs recorded on the host, oldest first."""
    return parse_history(session.run_script(history_script(), timeout=30).stdout_text)


def rollback_plan(session: Reader, host: Host, run_id: str) -> Plan:
    """A plan that puts back the files as they were before ``run_id``, with the checks and
    steps planned for that run's rollback; rolling it back in turn runs ``run_id``'s own."""
    answer = session.run_script(backup_script(run_id), timeout=60).stdout
    reply = parse_backup(answer, host.name)
    if reply is None:
        raise ApplyError(
            f"host {host.name!r}: no run {run_id!r} with a backup; 'bsdprov history' lists the runs"
        )
    backup = reply.backup
    current = _observe(session, host, list(backup.files))
    changes = []
    for path, old in backup.files.items():
        now = current.get(path, ObservedFile(path, None))
        wanted = (old.content, old.mode, old.owner, old.group)
        if (now.content, now.mode, now.owner, now.group) != wanted:
            changes.append(
                FileChange(
                    path,
                    now,
                    old.content,
                    old.mode or 0o644,
                    old.owner or "root",
                    old.group or "wheel",
                )
            )
    forward_checks, forward_steps = reply.checks, reply.steps
    if reply.undo_checks is not None and reply.undo_steps is not None:
        checks, steps = reply.undo_checks, reply.undo_steps
    else:
        swaps = [Swap(c.path, c.before.content, c.after) for c in changes]
        undo = plan_undo(backup.os, swaps, forward_steps)
        checks, steps = undo.checks, undo.steps
    return Plan(
        host.name,
        backup.os,
        tuple(changes),
        checks,
        steps,
        (),
        undo_checks=forward_checks,
        undo_steps=forward_steps,
    )


def _observe(session: Reader, host: Host, paths: list[str]) -> dict[str, ObservedFile]:
    """The current state of exactly ``paths`` (one exec)."""
    answer = session.run_script(probe_script(paths), timeout=60).stdout
    return parse_facts(answer, host.name).files


def _run_to_undo(runs: list[RunRecord], run_id: str | None, host: Host) -> str:
    """``run_id``, or by default the last applied run."""
    if run_id is not None:
        return run_id
    applied = [r for r in runs if r.state == RunState.APPLIED]
    if not applied:
        raise ApplyError(f"host {host.name!r}: no applied run to roll back")
    return applied[-1].run_id


def _rollback_preview(session: Reader, host: Host, run_id: str) -> Outcome:
    plan = rollback_plan(session, host, run_id)
    status: Status = "changes" if plan.has_changes else "unchanged"
    return Outcome(host.name, status, f"rollback of {run_id}", plan)


def rollback_outcome(session: Reader, host: Host, run_id: str | None) -> Outcome:
    """What rolling back ``run_id`` (default: the last applied run) would do (a dry run)."""
    return _rollback_preview(session, host, _run_to_undo(history_one(session), run_id, host))


def rollback_one(
    connect: Connector,
    host: Host,
    run_id: str | None,
    new_run_id: str,
    options: DeployOptions,
    expect: Callable[[Plan], None] | None = None,
) -> Outcome:
    """Undo ``run_id`` (default: the last applied run) through a new transaction. ``expect``
    sees the plan about to be applied and may refuse it, as for ``deploy_one``."""
    session = connect(host)
    try:
        runs = history_one(session)
        _resume_failed_rollbacks(
            session, host, [r.run_id for r in runs if r.state == RunState.ROLLBACK_FAILED]
        )
        run_id = _run_to_undo(history_one(session), run_id, host)
        preview = _rollback_preview(session, host, run_id)
        if expect is not None and preview.plan is not None:
            expect(preview.plan)
        if preview.plan is None or not preview.plan.has_changes:
            return preview
        plan = preview.plan
        return _transact(connect, session, host, plan, new_run_id, options, f"rollback-of-{run_id}")
    finally:
        session.close()


__all__ = [
    "Connector",
    "DeployOptions",
    "Outcome",
    "RunRecord",
    "deploy_one",
    "history_one",
    "plan_one",
    "plan_outcome",
    "rollback_one",
    "rollback_outcome",
]
