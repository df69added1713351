"""Plan, deploy, roll back and list runs on one host, over any transport.

The host does the work (``remote/txn.sh``); this module probes, plans, uploads the run, starts
it detached, waits, and confirms over a *new* connection, which is what proves access survived.
Straight-line: every decision is in the pure core (render, plan, run, probe).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from bsdprov.boot_hook import RC_LOCAL, with_boot_hook
from bsdprov.errors import ApplyError, BsdprovError, ProbeError, TransportError, UsageError
from bsdprov.facts import (
    FINAL_STATES,
    PROBE_HEAD,
    PROBE_PATH,
    RUN_TOOLS,
    STATE_DIR,
    Facts,
    ObservedFile,
    parse_facts,
    probe_script,
)
from bsdprov.lifecycle import VmOptions
from bsdprov.model import OS_NAMES, Host
from bsdprov.outcome import Outcome, RunRecord, Status
from bsdprov.plan import FileChange, Plan, PlanOptions, plan_host
from bsdprov.render import LineEdit, Rendered, Step, render_host
from bsdprov.render.hypervisor import SYSCTL_CONF
from bsdprov.render.pf import PF_CONF
from bsdprov.rollback import Swap, plan_undo, with_undo
from bsdprov.run import RUN_ID_RE, RunSettings, build_run
from bsdprov.session import Reader, Transport
from bsdprov.verify import CheckResult, parse_verify, verify_script
from bsdprov.vmd import Guest, uplink_interface

TXN = f"{STATE_DIR}/txn.sh"
STATUS_OF_STATE: dict[str, Status] = {
    "applied": "changed",
    "failed": "failed",
    "rolled-back": "rolled-back",
    "rollback-failed": "failed",
    "unreachable": "unreachable",
}


Connector = Callable[[Host], Transport]


@dataclass(frozen=True, slots=True)
class DeployOptions:
    confirm: bool = True
    confirm_timeout: int = 120
    step_timeout: int = 120
    user: str = "unknown"
    restart_vms: bool = False
    purge_disks: bool = False
    uplink: bool = False


def renderings(host: Host, guests: tuple[Guest, ...] = ()) -> list[Rendered]:
    """The host rendered for each OS it may run (all of them when ``os:`` is unset)."""
    found = []
    for os in [host.os] if host.os else list(OS_NAMES):
        try:
            found.append(render_host(host, os, guests=guests))
        except BsdprovError:
            continue
    return found


def gather(session: Reader, host: Host, guests: tuple[Guest, ...] = ()) -> Facts:
    """One exec: uname, the managed files and bsdprov's runs on the host."""
    rendered = renderings(host, guests)
    files = [spec for r in rendered for spec in r.files]
    # The running values a rollback puts back: the sysctls the renderings set, and pf's state.
    sysctls = [
        line.partition("=")[0]
        for spec in files
        if isinstance(spec, LineEdit) and spec.path == SYSCTL_CONF
        for line in spec.lines
    ]
    script = probe_script(
        [RC_LOCAL, *(spec.path for spec in files)],
        exists=[c.path for r in rendered for c in r.creates],
        globs=[g.pattern for r in rendered for g in r.owned_globs],
        commands=[argv[0] for r in rendered for argv in _commands(r)],
        sysctls=sysctls,
        pf=any(spec.path == PF_CONF for spec in files),
        macs=[name for name, itf in host.interfaces.items() if itf.mac],
    )
    result = session.run_script(script, timeout=60)
    facts = parse_facts(result.stdout, host.name)
    if host.os is not None and facts.os != host.os:
        raise ProbeError(
            f"host {host.name!r}: the inventory says os {host.os!r} but the host "
            f"runs {facts.os} {facts.release}; fix 'os' in the inventory"
        )
    return facts


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
) -> tuple[Plan, Facts]:
    """Probe the host and plan it: touches nothing."""
    facts = gather(session, host, guests)
    rendered = render_host(host, facts.os, facts.release, guests)
    choices = PlanOptions(
        VmOptions(options.restart_vms, options.purge_disks), uplink_hold(host, options)
    )
    plan = plan_host(rendered, facts.files, facts.existing, choices)
    return with_undo(with_boot_hook(plan, facts.files), facts.live), facts


def unfinished_warnings(facts: Facts) -> tuple[str, ...]:
    return tuple(
        f"run {r.run_id} did not finish (state {r.state}): "
        + (
            "it is still in progress, or waiting for its confirmation"
            if r.alive
            else "its process is gone; the next deploy rolls it back first"
        )
        for r in facts.unfinished
    )


def _roll_back_interrupted(session: Transport, facts: Facts) -> None:
    """Undo runs whose process died (killed, or a --no-confirm run cut off) before planning."""
    for run in facts.unfinished:
        if not run.alive:
            txn = shlex.quote(f"{STATE_DIR}/runs/{run.run_id}/txn.sh")
            script = (
                f"sh {txn} rollback {shlex.quote(run.run_id)} "
                "'interrupted: no bsdprov process was left'\n"
            )
            session.run_script(script, timeout=600, check=False)


def _resume_failed_rollbacks(session: Transport, host: Host, run_ids: list[str]) -> bool:
    """Redo what rollbacks that failed half-way left (``txn.sh resume``), oldest first.

    Returns whether any was resumed (the files may have changed); raises ``ApplyError`` naming
    the steps still failing. A run from before failed rollbacks recorded their steps has
    nothing to resume and is left as it is.
    """
    resumed = False
    for run_id in run_ids:
        # The id comes from the host's reply: quoted like every host-supplied value.
        txn = shlex.quote(f"{STATE_DIR}/runs/{run_id}/txn.sh")
        answer = session.run_script(
            f"sh {txn} resume {shlex.quote(run_id)}\n", timeout=600, check=False
        ).stdout_text
        head, _, remaining = answer.partition("remaining:\n")
        state, reason, _ = _parse_state(head)
        if state == "unknown":
            continue
        left = [line for line in remaining.splitlines() if line.strip()]
        if state == "rollback-failed" and left:
            raise ApplyError(
                f"host {host.name!r}: run {run_id}'s rollback failed half-way and cannot be "
                f"finished: {reason}; fix the cause on the host and run again, or remove "
                f"{STATE_DIR}/runs/{run_id}/remaining to go on without those steps"
            )
        resumed = resumed or state == "rolled-back"
    return resumed


def plan_outcome(
    session: Reader,
    host: Host,
    guests: tuple[Guest, ...] = (),
    options: DeployOptions = DeployOptions(),
) -> Outcome:
    """What a deploy would do (a dry run): the plan, and what would stop or slow the deploy."""
    plan, facts = plan_one(session, host, guests, options)
    status: Status = "changes" if plan.has_changes else "unchanged"
    warnings = unfinished_warnings(facts) + tuple(
        f"the host lacks {tool}, which a deploy needs"
        for tool in (missing_commands(plan, facts) if plan.has_changes else ())
    )
    return Outcome(host.name, status, plan=plan, warnings=warnings)


def deploy_one(
    connect: Connector,
    host: Host,
    run_id: str,
    options: DeployOptions,
    guests: tuple[Guest, ...] = (),
) -> Outcome:
    """Plan and apply one host as one on-host transaction (``plan_outcome`` is the dry run)."""
    session = connect(host)
    try:
        plan, facts = plan_one(session, host, guests, options)
        missing = missing_commands(plan, facts) if plan.has_changes else ()
        if missing:
            raise ApplyError(
                f"host {host.name!r} lacks commands a run needs: {', '.join(missing)} "
                f"(looked for in {PROBE_PATH}); install them first, nothing was changed"
            )
        if any(r.alive for r in facts.unfinished):
            raise ApplyError(
                f"host {host.name!r}: {unfinished_warnings(facts)[0]}; deploy again once it is done"
            )
        if facts.unfinished:
            _roll_back_interrupted(session, facts)
            plan, facts = plan_one(session, host, guests, options)
        failed = [r.run_id for r in facts.runs if r.state == "rollback-failed"]
        if failed and _resume_failed_rollbacks(session, host, failed):
            plan, facts = plan_one(session, host, guests, options)
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
    upload = f"{uploads}/{run_id}"
    session.put_files(build_run(plan, settings), upload)
    wait = max(timeout, 60) + options.step_timeout
    try:
        result = session.run_script(
            _start_script(uploads, run_id, wait), timeout=wait + 30, check=False
        )
    except TransportError:
        # The change may have cut this very connection: only a new one can tell.
        session.close()
        state, reason = _confirm(connect, host, run_id, timeout, options.step_timeout)
        return Outcome(host.name, STATUS_OF_STATE.get(state, "failed"), reason, plan, run_id)
    answer = parse_start(result.stdout_text)
    state, reason = answer.state, answer.reason
    if answer.not_started:
        state, reason = "failed", f"the run did not start on the host: {answer.not_started}"
        said = [line for line in result.stderr_text.splitlines() if line.strip()]
        if result.exit_code and said:
            reason += f" ({said[-1].strip()})"
    elif state == "awaiting-confirm" or (state not in FINAL_STATES and answer.alive):
        session.close()
        state, reason = _confirm(connect, host, run_id, timeout, options.step_timeout)
    elif state not in FINAL_STATES:
        # start stopped half-way and nothing works on the run any more: undo it now, while
        # the host is reachable, rather than leave it to the next deploy.
        why = f"txn.sh start stopped at state {state}{answer.exit_detail} with no process left"
        undone = session.run_script(_rollback_script(run_id, why), timeout=600, check=False)
        state, reason, _ = _parse_state(undone.stdout_text)
        reason = reason or why
    status = STATUS_OF_STATE.get(state, "failed")
    return Outcome(host.name, status, reason, plan, run_id, journal=answer.journal)


def _clean_uploads_script(uploads: str, run_id: str) -> str:
    """Remove uploads a killed controller left (older than 2 minutes: a concurrent
    controller's fresh upload stays); -mindepth, -maxdepth and -mmin are in every BSD's find."""
    return (
        f"find {shlex.quote(uploads)} -mindepth 1 -maxdepth 1 -type d -mmin +2 "
        f"! -name {shlex.quote(run_id)} -exec rm -rf {{}} + 2>/dev/null || :\n"
    )


def _start_script(uploads: str, run_id: str, wait: int) -> str:
    run = shlex.quote(f"{STATE_DIR}/runs/{run_id}")
    upload = shlex.quote(f"{uploads}/{run_id}")
    quoted_id = shlex.quote(run_id)
    # start exits once the run awaits its confirmation or is final, so waiting for it replaces
    # polling the state (which cost a busy host processes); nohup keeps it going if this
    # session drops, and txn.sh wait still reports (and polls, should start have been killed;
    # it returns at once when no process works on the run). start's stderr goes to a file, not
    # to this session, which may be cut by the very change it makes.
    return f"""set -e
umask 077
{_clean_uploads_script(uploads, run_id)}mkdir -p {STATE_DIR}/runs
chmod 700 {STATE_DIR}
rm -rf {run}
if ! err=$(cp -R {upload} {run} 2>&1); then
	rm -rf {run} {upload}
	free=$(df -P -k {STATE_DIR} | awk 'NR == 2 {{ print $4 }}')
	if [ "${{free:-0}}" -lt 64 ]; then
		echo "start-error=no space left on {STATE_DIR} ($free KB free): cannot copy the run there"
	else
		printf 'start-error=cannot copy the run into {STATE_DIR}: %s\\n' "$err" | head -n 1
	fi
	exit 0
fi
rm -rf {upload}
started=0
nohup sh {run}/txn.sh start {quoted_id} </dev/null >/dev/null 2>{run}/start.err &
wait $! || started=$?
sh {run}/txn.sh wait {quoted_id} {wait}
echo "start-exit=$started"
[ ! -s {run}/start.err ] || sed 's/^/start-stderr=/' {run}/start.err | tail -n 3
printf 'state-dir-free=%s\\n' "$(df -P -k {STATE_DIR} | awk 'NR == 2 {{ print $4 }}')"
"""


def _rollback_script(run_id: str, why: str) -> str:
    run = shlex.quote(f"{STATE_DIR}/runs/{run_id}")
    run_id = shlex.quote(run_id)
    return (
        f"sh {run}/txn.sh rollback {run_id} {shlex.quote(why)} >/dev/null 2>&1 || :\n"
        f"sh {run}/txn.sh wait {run_id} 0\n"
    )


@dataclass(frozen=True, slots=True)
class StartAnswer:
    """What the start script printed: txn.sh wait's report, then how start itself ended."""

    state: str
    reason: str
    journal: str
    alive: bool
    exit: int | None
    stderr: tuple[str, ...]
    error: str
    free_kb: int | None

    @property
    def exit_detail(self) -> str:
        said = "; ".join(self.stderr)
        if self.exit in (None, 0) and not said:
            return ""
        return f" (exit {self.exit}{': ' + said if said else ''})"

    @property
    def not_started(self) -> str:
        """Why txn.sh start never recorded a state, or "" when it did."""
        if self.error:
            return self.error
        if self.state not in ("none", "unknown"):
            return ""
        said = f": {'; '.join(self.stderr)}" if self.stderr else ""
        if self.exit in (126, 127):
            return f"a command is missing on the host (exit {self.exit}){said}"
        if self.free_kb is not None and self.free_kb < 64:
            return f"no space left on {STATE_DIR} ({self.free_kb} KB free){said}"
        return f"txn.sh start recorded no state{self.exit_detail}; nothing was changed"


def parse_start(text: str) -> StartAnswer:
    head, _, journal = text.partition("journal:\n")
    fields: dict[str, str] = {}
    stderr: list[str] = []
    lines = head.splitlines()
    # What follows the journal (start's own lines) is the script's, not the journal's.
    body, tail = journal, ""
    marker = journal.find("start-exit=")
    if marker >= 0:
        body, tail = journal[:marker], journal[marker:]
    for line in lines + tail.splitlines():
        key, _, value = line.partition("=")
        if key == "start-stderr":
            stderr.append(value)
        elif key:
            fields.setdefault(key, value)
    exit_text = fields.get("start-exit", "")
    free = fields.get("state-dir-free", "")
    return StartAnswer(
        fields.get("state") or "unknown",
        fields.get("reason", ""),
        body,
        fields.get("alive") == "yes",
        int(exit_text) if exit_text.isdigit() else None,
        tuple(stderr),
        fields.get("start-error", ""),
        int(free) if free.isdigit() else None,
    )


def _parse_state(answer: str) -> tuple[str, str, str]:
    parsed = parse_start(answer)
    return parsed.state, parsed.reason, parsed.journal


def _confirm(
    connect: Connector, host: Host, run_id: str, timeout: int, step_timeout: int
) -> tuple[str, str]:
    """Confirm over new connections until the host decides; None of them is the old one. The
    report says what was seen: no connection at all, or a host that answered but never
    decided (and whether a timer was there to roll it back)."""
    deadline = time.monotonic() + timeout + step_timeout + 15
    last_error = "no new connection succeeded"
    seen = ""  # the last state a new connection reported
    while time.monotonic() < deadline:
        try:
            session = connect(host)
        except TransportError as exc:
            last_error = str(exc)
            time.sleep(2)
            continue
        try:
            result = session.run_script(
                f"sh {TXN} confirm {shlex.quote(run_id)}\n", timeout=30, check=False
            )
        except TransportError as exc:
            last_error = str(exc)
            continue
        finally:
            session.close()
        state, reason, _ = _parse_state(result.stdout_text)
        if state in FINAL_STATES:
            return state, reason
        if state == "unknown" and f"no run {run_id}" in result.stderr_text:
            return "failed", f"the host has no run {run_id}: it never started; nothing was changed"
        seen = state
        time.sleep(1)
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
    return "unreachable", (
        f"no new SSH connection could confirm the run ({last_error}); if the run started, {timer}"
    )


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
    answer = session.run_script(f"[ -f {TXN} ] && sh {TXN} history || true\n", timeout=30)
    records = []
    for line in answer.stdout_text.splitlines():
        fields = line.split("\t")
        if len(fields) == 7:
            run_id, state, started, user, kind, targets, reason = fields
            records.append(
                RunRecord(
                    run_id,
                    state,
                    started,
                    user,
                    kind,
                    tuple(t for t in targets.split(",") if t and t != "-"),
                    reason,
                )
            )
    return records


def _run_script(run_id: str) -> str:
    """Print a run's backup (as the probe prints files), its steps and checks, and the
    checks and steps planned for its rollback (runs from before they were planned have none)."""
    if not RUN_ID_RE.fullmatch(run_id):
        raise UsageError(f"{run_id!r} is not a run id such as 20261123T151733Z-e33f37")
    run = f"{STATE_DIR}/runs/{run_id}"
    return f"""[ -f {run}/backup/index ] || {{ echo 'BSDPROV-NO-RUN'; exit 0; }}
{PROBE_HEAD}while read -r presence n target; do
	if [ "$presence" = present ]; then
		report "{run}/backup/$n" "$target"
	else
		printf 'absent %s\\n' "$target"
	fi
done <{run}/backup/index
echo 'BSDPROV-PROBE-END'
echo 'steps:'
cat {run}/steps
echo 'checks:'
cat {run}/checks
if [ -f {run}/undo-steps ]; then
	echo 'undo-steps:'
	cat {run}/undo-steps
	echo 'undo-checks:'
	cat {run}/undo-checks
fi
"""


def rollback_plan(session: Reader, host: Host, run_id: str) -> Plan:
    """A plan that puts back the files as they were before ``run_id``, with the checks and
    steps planned for that run's rollback; rolling it back in turn runs ``run_id``'s own."""
    answer = session.run_script(_run_script(run_id), timeout=60).stdout_text
    if answer.startswith("BSDPROV-NO-RUN"):
        raise ApplyError(
            f"host {host.name!r}: no run {run_id!r} with a backup; 'bsdprov history' lists the runs"
        )
    facts_text, _, rest = answer.partition("steps:\n")
    steps_text, _, rest = rest.partition("checks:\n")
    checks_text, has_undo, rest = rest.partition("undo-steps:\n")
    undo_steps_text, _, undo_checks_text = rest.partition("undo-checks:\n")
    backup = parse_facts(facts_text.encode("utf-8", "surrogateescape"), host.name)
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
    forward_checks, forward_steps = _steps(checks_text), _steps(steps_text)
    if has_undo:
        checks, steps = _steps(undo_checks_text), _steps(undo_steps_text)
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


def _steps(text: str) -> tuple[Step, ...]:
    steps = []
    for line in text.splitlines():
        may_fail = line.startswith("- ")
        try:
            argv = tuple(shlex.split(line[2:] if may_fail else line))
        except ValueError as exc:
            raise ProbeError(f"the run's command {line[:120]!r} cannot be read: {exc}") from None
        if argv:
            steps.append(Step(argv, "as the rolled-back run did it", may_fail))
    return tuple(steps)


def _run_to_undo(runs: list[RunRecord], run_id: str | None, host: Host) -> str:
    """``run_id``, or by default the last applied run."""
    if run_id is not None:
        return run_id
    applied = [r for r in runs if r.state == "applied"]
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
) -> Outcome:
    """Undo ``run_id`` (default: the last applied run) through a new transaction."""
    session = connect(host)
    try:
        runs = history_one(session)
        _resume_failed_rollbacks(
            session, host, [r.run_id for r in runs if r.state == "rollback-failed"]
        )
        run_id = _run_to_undo(history_one(session), run_id, host)
        preview = _rollback_preview(session, host, run_id)
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
