"""Invoke tasks: parse arguments, call ``bsdprov.api``, format, exit with an ``ExitCode``.

Each task is a thin shell over one api call; every decision is in the api and below, so what a
task does can be had from Python as well (docs/api.md). Nothing here imports paramiko: the api
connects only when a live task runs.
"""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from bsdprov import api, settings
from bsdprov.approval import approved, require_answerable
from bsdprov.errors import ExitCode, UsageError
from bsdprov.fleet import worst
from bsdprov.interrupt import interrupted_text, interruptible
from bsdprov.lab.tasks import lab
from bsdprov.output import (
    check_json,
    check_summary,
    deploy_json,
    deploy_text,
    history_json,
    history_text,
    plan_host_text,
    plan_json,
    render_json,
    render_text,
    summary_line,
    terminal_safe,
    verify_json,
    verify_text,
)
from bsdprov.plan import Plan
from bsdprov.progress import stage_line
from bsdprov.recap import recap_text
from bsdprov.reporting import reported
from bsdprov.savedplan import (
    SavedPlan,
    expectation,
    read_saved_plan,
    saved_plan_text,
    shown_expectation,
)
from bsdprov.short_options import Command
from bsdprov.watch import HostWatch, Watch

if TYPE_CHECKING:
    from bsdprov.progress_live import LiveProgress

DEFAULT_INVENTORY = api.DEFAULT_INVENTORY
INVENTORY_HELP = (
    f"inventory file (default: $BSDPROV_INVENTORY, bsdprov.yaml's, or {DEFAULT_INVENTORY})"
)
HOSTS_HELP = "host(s) to act on: NAME[,NAME...]"


def _exit(code: ExitCode, message: str = "") -> None:
    if code or message:
        raise Exit(message or None, int(code))


@task(
    klass=Command,
    help={"inventory": INVENTORY_HELP, "json": "print the versioned JSON object instead of text"},
)
@reported
def check(c: Context, inventory: str | None = None, json: bool = False) -> None:
    """Validate the inventory and print a one-line summary per host."""
    loaded = api.check(settings.inventory(inventory))
    sys.stdout.write(check_json(loaded) if json else check_summary(loaded))


@task(
    klass=Command,
    help={
        "host": f"{HOSTS_HELP} (default: every host)",
        "inventory": INVENTORY_HELP,
        "json": "print the versioned JSON object instead of text",
    },
)
@reported
def render(
    c: Context, host: str | None = None, inventory: str | None = None, json: bool = False
) -> None:
    """Render hosts' configuration offline (needs 'os:' in the inventory); touches nothing."""
    rendered = api.render(settings.inventory(inventory), host or ())
    if json:
        sys.stdout.write(render_json(rendered))
    else:
        sys.stdout.write("\n".join(render_text(r) for r in rendered))


# --- live tasks over SSH --------------------------------------------------------------------

FLEET_HELP = {
    "host": HOSTS_HELP,
    "group": "every host of this inventory group",
    "all": "every host of the inventory",
    "inventory": INVENTORY_HELP,
    "parallel": "hosts worked on at once (default: $BSDPROV_PARALLEL, bsdprov.yaml's, "
    "the inventory's defaults:, or 10)",
    "ssh_config": "ssh_config file (default: $BSDPROV_SSH_CONFIG, the inventory's, ~/.ssh/config)",
}
DEPLOY_HELP = {
    **FLEET_HELP,
    "serial": "roll out in batches of N hosts (default: all at once)",
    "max_fail": "with --serial: start no further batch once more hosts than this failed",
    "dry_run": "show what would change (diffs and commands) and touch nothing",
    "confirm_timeout": "seconds the host waits for a new SSH login before it rolls back "
    "(default: $BSDPROV_CONFIRM_TIMEOUT, bsdprov.yaml's, the inventory's defaults:, or 120)",
    "no_confirm": "no dead-man timer: for hosts whose connectivity is not at stake",
    "step_timeout": "seconds one activation command may take before it is killed (120)",
    "json": "print the versioned JSON object: the plan's with --dry-run, else the result's "
    "(needs --yes)",
    "restart_vms": "restart running VMs whose definition changed (vmd keeps the old one)",
    "purge_disks": "delete the disk images of VMs removed from the inventory (kept by default)",
    "uplink": "on a hypervisor, also change the interface carrying the SSH session",
    "yes": "apply without showing the plan and asking (needed when stdin is not a terminal)",
    "verbose": "under a failed host, also the last lines of its run's journal",
    "plan": "apply exactly the plan 'plan --out FILE' saved, to its hosts; a host whose plan is "
    "no longer the same is refused, naming the file (no question asked: the plan was reviewed)",
}


def _fleet(
    inventory: str | None, host: str | None, group: str | None, everything: bool
) -> tuple[api.Inventory, list[str]]:
    loaded = api.check(settings.inventory(inventory))
    return loaded, api.select_hosts(loaded, host, group=group, everything=everything)


def _refuse_what_does_not_apply(
    verb: str,
    *,
    dry_run: bool,
    yes: bool,
    json: bool,
    verbose: bool,
    real_only: dict[str, object] | None = None,
) -> None:
    """Options that make no sense together are refused, never silently ignored. ``real_only``:
    the options (by flag) that steer only a real run, with their values as given."""
    given = [flag for flag, value in (real_only or {}).items() if value]
    if dry_run and given:
        raise UsageError(
            f"{verb} --dry-run: {', '.join(given)} appl{'ies' if len(given) == 1 else 'y'} to a "
            f"real {verb} only; a dry run plans each host once and changes nothing"
        )
    if yes and dry_run:
        raise UsageError(f"{verb} --yes --dry-run: --yes does not apply, a dry run changes nothing")
    if json and not (dry_run or yes):
        raise UsageError(
            f"{verb} --json: the plan is shown and a question asked first, which JSON cannot "
            "carry; add --yes to apply and print the result as JSON, or --dry-run for the plan"
        )
    if verbose and (json or dry_run):
        raise UsageError(
            f"{verb} --verbose: it adds the journal to a real {verb}'s text report only"
        )


PLAN_OPTIONS = ("restart_vms", "purge_disks", "uplink")


def _timer(no_confirm: bool, flag: int | None, loaded: api.Inventory | None = None) -> int:
    """The confirm timeout: the flag, else the environment, bsdprov.yaml, then the inventory's
    ``defaults:``. With --no-confirm there is no timer, so only the flag is read (the api
    checks it): a short timeout set for other runs in bsdprov.yaml does not refuse this one."""
    if no_confirm:
        return api.DeployOptions().confirm_timeout if flag is None else flag
    return settings.whole("confirm_timeout", flag, loaded.settings if loaded else None)


def _with_inventory_timer(
    options: api.DeployOptions, flag: int | None, loaded: api.Inventory
) -> api.DeployOptions:
    """The confirm timeout once the inventory is read: its ``defaults:`` come below the flag,
    the environment and bsdprov.yaml (read, and checked, before the inventory was)."""
    return dataclasses.replace(options, confirm_timeout=_timer(not options.confirm, flag, loaded))


PLANNED = ("changes", "unchanged")


def _save_plan(out: str, outcomes: list[api.Outcome], inventory: str) -> None:
    """Write the saved plan next to its final name, then rename it there (never half a file).

    The file beside it is new and private (mkstemp: O_EXCL, mode 0600): a fixed name in a shared
    directory such as /tmp could be a symlink another user planted, and root's write would go
    through it; and the plan's hashes let weak secrets be guessed offline (docs/deploy.md)."""
    options = dict.fromkeys(PLAN_OPTIONS, False)
    text = saved_plan_text(outcomes, inventory, options)
    target = Path(out)
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write it: {exc.strerror}") from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        with suppress(OSError):
            temporary.unlink()  # no half-written plan left beside it
        raise UsageError(f"--out {out}: cannot write it: {exc.strerror}") from None
    saved = sum(o.status == "changes" for o in outcomes)
    # A host that could not be planned is not in the file: 'deploy --plan' would pass it over.
    left_out = [f"{o.host} ({o.status})" for o in outcomes if o.status not in PLANNED]
    sys.stderr.write(
        f"plan saved to {out}: {saved} host{'s' if saved != 1 else ''} with changes; "
        f"'bsdprov deploy --plan {out}' applies exactly it\n"
        + (f"not in it, no plan could be made: {', '.join(left_out)}\n" if left_out else "")
    )


# A saved plan is hashes: a few KiB a host. A bigger file is not one ('--plan /dev/zero' read
# until memory ran out).
MAX_PLAN_BYTES = 64 * 1024 * 1024


def _refuse_to_overwrite(out: str) -> None:
    """Before any host is contacted: ``--out`` may replace a saved plan, never another file
    ('--out hosts.yaml', one tab completion away from '-i hosts.yaml', replaced the inventory)."""
    target = Path(out)
    if not target.exists() and not target.is_symlink():
        return
    try:
        _read_plan(out)
    except UsageError:
        raise UsageError(
            f"--out {out}: the file exists and is not a saved plan; nothing was written "
            "(remove it first, or give another name)"
        ) from None


def _read_plan(path: str) -> SavedPlan:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_PLAN_BYTES + 1)
        if len(data) > MAX_PLAN_BYTES:
            raise UsageError(f"--plan {path}: not a saved plan (over {MAX_PLAN_BYTES} bytes)")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--plan {path}: cannot read it: {exc}") from None
    return read_saved_plan(path, text)


def _approved_hosts(verb: str, planned: list[api.Outcome]) -> list[str]:
    """Ask about the plan shown (each host's printed as it came); the hosts to go ahead with:
    those whose changes were shown.

    A host whose plan could not be made (unreachable, failed) is left out: applying to it would
    apply what no one saw. Exits, applying nothing, when nothing is to change or the answer is
    not yes.
    """
    sys.stdout.write(summary_line("plan", planned) + "\n")  # each host's plan is above
    sys.stdout.flush()
    shown = [o.host for o in planned if o.status == "changes"]
    if not shown:
        _exit(api.exit_code(planned), f"{verb}: nothing to change; nothing was applied")
        return []
    left = [o.host for o in planned if o.status in ("failed", "unreachable")]
    note = f" ({', '.join(left)} left out: no plan to show)" if left else ""
    count = f"{len(shown)} host{'s' if len(shown) != 1 else ''}"
    if not approved(f"{verb.capitalize()} the changes above on {count}: {', '.join(shown)}{note}?"):
        _exit(ExitCode.FAILED, f"{verb} cancelled: nothing was applied")
    return shown


def _as_shown(
    verb: str, planned: list[api.Outcome], chosen: list[str]
) -> dict[str, Callable[[Plan], None]]:
    """Per host applied to, the check that what it applies is the plan that was shown: the
    'yes' was to that plan, so the apply, which plans each host again, refuses one whose plan
    changed meanwhile instead of applying what no one saw."""
    shown = {o.host: o.plan for o in planned if o.plan is not None}
    return {n: shown_expectation(verb, n, shown[n]) for n in chosen if n in shown}


def _with_planned(planned: list[api.Outcome], applied: list[api.Outcome]) -> list[api.Outcome]:
    """Each host's outcome: what was applied, or its plan's for a host left out."""
    done = {o.host: o for o in applied}
    return [done.get(o.host, o) for o in planned]


def _recap(verb: str, rows: list[tuple[str, str]], code: ExitCode) -> None:
    """The recap after a text report; coloured on a terminal unless NO_COLOR is set or the
    terminal is TERM=dumb (which shows escape codes as they are, as it cannot redraw)."""
    colour = (
        sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )
    sys.stdout.write("\n" + recap_text(verb, rows, code, colour=colour))


def _statuses(outcomes: list[api.Outcome]) -> list[tuple[str, str]]:
    return [(o.host, o.status) for o in outcomes]


def _read_status(error: api.BsdprovError | None, passed: bool = True) -> str:
    """A read-only task's host in the recap's terms."""
    if error is not None:
        return "unreachable" if error.exit_code == ExitCode.UNREACHABLE else "failed"
    return "ok" if passed else "failed"


def _logins(loaded: api.Inventory, outcomes: list[api.Outcome]) -> dict[str, str]:
    """Where each host's confirming SSH login went, for its failure's cause."""
    logins = {}
    for outcome in outcomes:
        host = loaded.hosts[outcome.host]
        logins[host.name] = f"{host.user}@{host.address or host.name}:{host.port}"
    return logins


class _Live:
    """The sessions of one task, watched (``bsdprov.watch``): on a terminal each host's stage
    is shown as it goes (``bsdprov.progress``), each host's result is printed as soon as it is
    known (``report``, else a line on stderr), and a Ctrl-C says at once where each host was
    and what it will do by itself (``bsdprov.interrupt``)."""

    def __init__(
        self,
        loaded: api.Inventory,
        names: list[str],
        ssh: api.SSHOptions,
        options: api.DeployOptions | None = None,
        *,
        report: Callable[[api.HostProgress], None] | None = None,
    ) -> None:
        self.timeout = options.confirm_timeout if options and options.confirm else None
        self.display = _display_kind()
        self.watch = Watch(confirm_timeout=self.timeout)
        if self.display == "lines":
            self.watch.on_change = self._stage_line
        self.watch.expect(names)
        self.connect = self.watch.wrap(api.ssh_connector(loaded, ssh))
        self.report = report or _progress

    def progress(self, event: api.HostProgress) -> None:
        verdict = ""
        if event.report is not None and event.outcome.status == "unchanged":
            verdict = "passed" if isinstance(event.report, api.HostChecks) else "read"
        self.watch.finished(event.outcome, verdict)
        self.report(event)

    def rollout(self, parallel: int, serial: int = 0, max_fail: int = 0) -> api.Rollout:
        """The fleet options of a phase, its hosts' progress told to this display."""
        return api.Rollout(
            parallel=parallel, serial=serial, max_fail=max_fail, progress=self.progress
        )

    def phase(self, names: list[str]) -> None:
        """The next phase (a deploy after its plan) starts every host afresh."""
        self.watch.reset(names)

    @contextmanager
    def guard(self, *, read_only: bool) -> Iterator[None]:
        """While the block runs: the in-place display on a terminal, and the Ctrl-C summary."""
        shown = self._in_place()

        def text(how: str) -> str:
            if shown is not None:
                shown.stop()  # the terminal back (its cursor too) before the summary prints
            return interrupted_text(self.watch, self.timeout, read_only, how)

        with interruptible(text):
            if shown is not None:
                shown.start()
            try:
                yield
            finally:
                if shown is not None:
                    shown.stop()

    def _in_place(self) -> LiveProgress | None:
        if self.display != "live":
            return None
        from bsdprov.progress_live import LiveProgress  # rich: only on a terminal

        return LiveProgress(self.watch, redirect_stdout=_is_terminal(sys.stdout))

    def _stage_line(self, watched: HostWatch) -> None:
        """A plain line per stage change, on a terminal that cannot redraw (TERM=dumb)."""
        if watched.stage == "done":
            return
        sys.stderr.write(stage_line(watched, self.watch.clock()) + "\n")
        sys.stderr.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _display_kind() -> str | None:
    """How progress shows: "live" (redrawn in place) on a terminal, "lines" (a line per stage
    change) on one that cannot redraw (TERM=dumb) or when stdout is a pipe, None on a pipe or
    file: a log gets each host's result only.

    Behind a pipe ('| tee deploy.log', '| less') the report reaches the same terminal through
    another process, which the display cannot print above: its redraw erased the plans as they
    came, and every host's plan block was lost from the screen."""
    if not _is_terminal(sys.stderr):
        return None
    if os.environ.get("TERM") == "dumb" or _through_a_pipe(sys.stdout):
        return "lines"
    return "live"


def _through_a_pipe(stream: TextIO) -> bool:
    """Whether what is written to ``stream`` may reach the terminal by another way: anything
    but a terminal (printed above the display), a regular file or a device such as /dev/null."""
    if _is_terminal(stream):
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return True
    return not (stat.S_ISREG(mode) or stat.S_ISCHR(mode))


def _progress(event: api.HostProgress) -> None:
    """Each host's result on stderr as soon as it is known; the report goes to stdout."""
    sys.stderr.write(f"[{event.finished}/{event.total}] {event.host}: {event.outcome.status}\n")
    sys.stderr.flush()


def _planned(
    live: _Live,
    json: bool,
    make: Callable[[api.Rollout], list[api.Outcome]],
    parallel: int,
) -> list[api.Outcome]:
    """The plan phase of a deploy or rollback: each host's plan printed as it comes (text).
    The apply phase then starts the hosts it applies to afresh (``_Live.phase``)."""
    applying = live.report
    live.report = _plan_report(json)
    try:
        with live.guard(read_only=True):
            return make(live.rollout(parallel))
    finally:
        live.report = applying


def _dry_run_exit(planned: list[api.Outcome], json: bool) -> None:
    """A deploy's or rollback's --dry-run ends as ``plan`` does: its summary, recap and code."""
    sys.stdout.write(plan_json(planned) if json else summary_line("plan", planned) + "\n")
    if not json:
        _recap("plan", _statuses(planned), api.exit_code(planned))
    _exit(api.exit_code(planned))


def _plan_report(json: bool) -> Callable[[api.HostProgress], None]:
    """A plan's host printed as soon as it is known (text); JSON is one document at the end."""

    def report(event: api.HostProgress) -> None:
        if not json:
            sys.stdout.write(terminal_safe(plan_host_text(event.outcome)))
            sys.stdout.flush()

    return report


def _read_report(json: bool, text: Callable[[Any], str]) -> Callable[[api.HostProgress], None]:
    """A read-only task's host printed as soon as it is known (text); JSON comes at the end."""

    def report(event: api.HostProgress) -> None:
        if not json and event.report is not None:
            sys.stdout.write(terminal_safe(text(event.report)))
            sys.stdout.flush()

    return report


def _history_host_text(report: api.HostRuns) -> str:
    if report.runs is None:
        return f"{report.host}: {report.error}\n"
    return history_text(report.host, report.runs)


def _verify_host_text(report: api.HostChecks) -> str:
    if report.results is None:
        return f"== {report.host}\nERROR {report.error}\n"
    return verify_text(report.host, report.results)


Report = TypeVar("Report", api.HostChecks, api.HostRuns)


def _read_fleet(
    read: Callable[..., list[Report]],
    text: Callable[[Report], str],
    json: bool,
    loaded: api.Inventory,
    names: list[str],
    parallel: int | None,
    ssh_config: str | None,
) -> list[Report]:
    """A read-only fleet task (history, verify): ``names`` read by the api's ``read`` in
    parallel, each host's ``text`` printed as soon as it is known."""
    ssh = api.SSHOptions(ssh_config=ssh_config)
    live = _Live(loaded, names, ssh, report=_read_report(json, text))
    with live.guard(read_only=True):
        return read(
            loaded,
            names,
            rollout=live.rollout(settings.whole("parallel", parallel, loaded.settings)),
            ssh=ssh,
            connect=live.connect,
        )


@task(
    klass=Command,
    help={
        **FLEET_HELP,
        "json": "print the versioned plan object",
        "detailed_exitcode": f"exit {int(ExitCode.CHANGES_PENDING)} when changes are pending, "
        "0 when none (errors keep their own codes)",
        "out": "also save the plan to FILE, for 'deploy --plan FILE' to apply exactly it",
    },
)
@reported
def plan(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int | None = None,
    ssh_config: str | None = None,
    json: bool = False,
    detailed_exitcode: bool = False,
    out: str | None = None,
) -> None:
    """Show what a deploy would change: diffs, checks and commands. Touches nothing."""
    if out:
        _refuse_to_overwrite(out)
    loaded, names = _fleet(inventory, host, group, all)
    ssh = api.SSHOptions(ssh_config=ssh_config)
    live = _Live(loaded, names, ssh, report=_plan_report(json))
    with live.guard(read_only=True):
        outcomes = api.plan(
            loaded,
            names,
            rollout=live.rollout(settings.whole("parallel", parallel, loaded.settings)),
            ssh=ssh,
            connect=live.connect,
        )
    sys.stdout.write(plan_json(outcomes) if json else summary_line("plan", outcomes) + "\n")
    if out:
        # Absolute: 'deploy --plan' may run from another directory.
        _save_plan(out, outcomes, os.path.abspath(settings.inventory(inventory)))
    code = api.exit_code(outcomes)
    if not code and detailed_exitcode and any(o.status == "changes" for o in outcomes):
        code = ExitCode.CHANGES_PENDING
    if not json:
        _recap("plan", _statuses(outcomes), code)
    _exit(code)


@task(klass=Command, help=DEPLOY_HELP)
@reported
def deploy(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int | None = None,
    ssh_config: str | None = None,
    dry_run: bool = False,
    confirm_timeout: int | None = None,
    no_confirm: bool = False,
    step_timeout: int = 120,
    json: bool = False,
    serial: int = 0,
    max_fail: int = 0,
    restart_vms: bool = False,
    purge_disks: bool = False,
    uplink: bool = False,
    yes: bool = False,
    verbose: bool = False,
    plan: str | None = None,
) -> None:
    """Apply the inventory to hosts, one on-host transaction each, rolled back on failure.
    Hypervisors go before their guests. Shows the plan and asks first, unless --yes."""
    options = api.DeployOptions(
        confirm=not no_confirm,
        confirm_timeout=_timer(no_confirm, confirm_timeout),
        step_timeout=step_timeout,
        restart_vms=restart_vms,
        purge_disks=purge_disks,
        uplink=uplink,
    )
    # A saved plan was reviewed when it was saved: it stands for --yes.
    answered = yes or bool(plan)
    _refuse_what_does_not_apply(
        "deploy",
        dry_run=dry_run,
        yes=answered,
        json=json,
        verbose=verbose,
        real_only={
            "--serial": serial,
            "--max-fail": max_fail,
            "--no-confirm": no_confirm,
            "--confirm-timeout": confirm_timeout is not None,
        },
    )
    if max_fail and not serial:
        raise UsageError(f"--max-fail {max_fail}: it applies to --serial rollouts; add --serial N")
    ssh = api.SSHOptions(ssh_config=ssh_config)
    expect: dict[str, Callable[[Plan], None]] | None = None
    if plan:
        if host or group or all or dry_run or restart_vms or purge_disks or uplink:
            raise UsageError(
                "deploy --plan: the saved plan names its hosts and options; drop --host, "
                "--group, --all, --dry-run, --restart-vms, --purge-disks and --uplink"
            )
        saved = _read_plan(plan)
        options = dataclasses.replace(
            options, **{k: bool(saved.options.get(k)) for k in PLAN_OPTIONS}
        )
        loaded = api.check(settings.inventory(inventory or saved.inventory))
        names = api.select_hosts(loaded, list(saved.hosts)) if saved.hosts else []
        if not names:
            _exit(ExitCode.OK, f"deploy --plan {plan}: no host has changes in it; nothing to do")
        expect = {n: expectation(plan, n, saved.hosts[n]) for n in names}
        yes = True  # the plan was reviewed when it was saved
    else:
        loaded, names = _fleet(inventory, host, group, all)
    options = _with_inventory_timer(options, confirm_timeout, loaded)
    if not (dry_run or yes):
        require_answerable("deploy")
    live = _Live(loaded, names, ssh, options)
    workers = settings.whole("parallel", parallel, loaded.settings)
    rollout = live.rollout(workers, serial, max_fail)

    def planned_now() -> list[api.Outcome]:
        return _planned(
            live,
            json,
            lambda rollout: api.plan(
                loaded, names, options=options, rollout=rollout, ssh=ssh, connect=live.connect
            ),
            workers,
        )

    if dry_run:
        _dry_run_exit(planned_now(), json)
        return
    chosen = names
    if not yes:
        planned = planned_now()
        chosen = _approved_hosts("deploy", planned)
        expect = _as_shown("deploy", planned, chosen)
        live.phase(chosen)  # the hosts left out are not shown as waiting
    with live.guard(read_only=False):
        outcomes = api.deploy(
            loaded,
            chosen,
            options=options,
            rollout=rollout,
            ssh=ssh,
            connect=live.connect,
            expect=expect,
        )
    if not yes:
        outcomes = _with_planned(planned, outcomes)
    code, logins = api.exit_code(outcomes), _logins(loaded, outcomes)
    if json:
        sys.stdout.write(deploy_json(outcomes, int(code), logins))
    else:
        sys.stdout.write(terminal_safe(deploy_text(outcomes, verbose=verbose, logins=logins)))
        _recap("deploy", _statuses(outcomes), code)
    _exit(code)


ROLLBACK_HELP = {
    k: v
    for k, v in DEPLOY_HELP.items()
    if k not in ("serial", "max_fail", "restart_vms", "purge_disks", "uplink", "plan")
}


@task(
    klass=Command, help={**ROLLBACK_HELP, "run": "the run to undo (default: the last applied run)"}
)
@reported
def rollback(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int | None = None,
    ssh_config: str | None = None,
    run: str | None = None,
    dry_run: bool = False,
    confirm_timeout: int | None = None,
    no_confirm: bool = False,
    step_timeout: int = 120,
    json: bool = False,
    yes: bool = False,
    verbose: bool = False,
) -> None:
    """Put back the files as they were before a run and re-activate them, as a new run.
    Shows what it puts back and asks first, unless --yes."""
    options = api.DeployOptions(
        confirm=not no_confirm,
        confirm_timeout=_timer(no_confirm, confirm_timeout),
        step_timeout=step_timeout,
    )
    _refuse_what_does_not_apply(
        "rollback",
        dry_run=dry_run,
        yes=yes,
        json=json,
        verbose=verbose,
        real_only={"--no-confirm": no_confirm, "--confirm-timeout": confirm_timeout is not None},
    )
    ssh = api.SSHOptions(ssh_config=ssh_config)
    loaded, names = _fleet(inventory, host, group, all)
    options = _with_inventory_timer(options, confirm_timeout, loaded)
    if not (dry_run or yes):
        api.checked_run_id(run)  # a bad --run is the first thing to hear of
        require_answerable("rollback")
    live = _Live(loaded, names, ssh, options)
    workers = settings.whole("parallel", parallel, loaded.settings)
    rollout = live.rollout(workers)
    if dry_run or not yes:
        planned = _planned(
            live,
            json,
            lambda quiet: api.plan_rollback(
                loaded, names, run=run, rollout=quiet, ssh=ssh, connect=live.connect
            ),
            workers,
        )
    if dry_run:
        _dry_run_exit(planned, json)
        return
    expect = None
    if not yes:
        names = _approved_hosts("rollback", planned)
        expect = _as_shown("rollback", planned, names)
        live.phase(names)
    with live.guard(read_only=False):
        outcomes = api.rollback(
            loaded,
            names,
            run=run,
            options=options,
            rollout=rollout,
            ssh=ssh,
            connect=live.connect,
            expect=expect,
        )
    if not yes:
        outcomes = _with_planned(planned, outcomes)
    logins = _logins(loaded, outcomes)
    if json:
        sys.stdout.write(deploy_json(outcomes, int(api.exit_code(outcomes)), logins))
        _exit(api.exit_code(outcomes))
        return
    sys.stdout.write(
        terminal_safe(deploy_text(outcomes, "rollback", verbose=verbose, logins=logins))
    )
    _recap("rollback", _statuses(outcomes), api.exit_code(outcomes))
    _exit(api.exit_code(outcomes))


@task(klass=Command, help={**FLEET_HELP, "json": "print the versioned history object"})
@reported
def history(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int | None = None,
    ssh_config: str | None = None,
    json: bool = False,
) -> None:
    """List the runs recorded on hosts: id, state, when, who, kind, files."""
    loaded, names = _fleet(inventory, host, group, all)
    reports = _read_fleet(
        api.history, _history_host_text, json, loaded, names, parallel, ssh_config
    )
    code = worst(r.error.exit_code for r in reports if r.error is not None)
    if json:
        sys.stdout.write(history_json(reports))
        _exit(code)
        return
    _recap("history", [(r.host, _read_status(r.error)) for r in reports], code)
    _exit(code)


@task(
    klass=Command,
    help={
        "host": "the host whose run to show (required)",
        "run": "the run (default: the host's newest); 'bsdprov history' lists them",
        "inventory": INVENTORY_HELP,
        "ssh_config": FLEET_HELP["ssh_config"],
    },
)
@reported
def log(
    c: Context,
    host: str = "",
    run: str | None = None,
    inventory: str | None = None,
    ssh_config: str | None = None,
) -> None:
    """Print a run's whole journal as the host keeps it: every state, file, check and command
    with its exit status and output (secrets masked). Read-only."""
    if not host or "," in host:
        raise UsageError(f"log --host {host!r}: give one host")
    found = api.journal(
        settings.inventory(inventory), host, run=run, ssh=api.SSHOptions(ssh_config=ssh_config)
    )
    if found.run_id is None:
        which = f"no run {run}" if run else "no runs recorded"
        _exit(ExitCode.FAILED, f"{host}: {which}; 'bsdprov history --host {host}' lists them")
        return
    sys.stdout.write(f"== {host} run {found.run_id}\n{terminal_safe(found.journal)}")
    if found.journal and not found.journal.endswith("\n"):
        sys.stdout.write("\n")


@task(
    klass=Command,
    help={
        "host": "host whose key to record (required)",
        "inventory": INVENTORY_HELP,
        "ssh_config": FLEET_HELP["ssh_config"],
    },
)
@reported
def trust(
    c: Context, host: str = "", inventory: str | None = None, ssh_config: str | None = None
) -> None:
    """Record a host's SSH key in known_hosts and print its fingerprint, to compare with the
    one the host's console shows (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)."""
    if "," in host:
        raise UsageError(f"trust --host {host!r}: give one host; its key is shown to compare")
    fingerprint = api.trust(
        settings.inventory(inventory), host, ssh=api.SSHOptions(ssh_config=ssh_config)
    )
    sys.stdout.write(f"{host}: recorded {fingerprint}\n")


@task(klass=Command, help={**FLEET_HELP, "json": "print the versioned verify object"})
@reported
def verify(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int | None = None,
    ssh_config: str | None = None,
    json: bool = False,
) -> None:
    """Check that hosts run what the inventory says (VMs, bridges, pf, daemons, addresses),
    each check with the command's evidence. Read-only; a deploy runs the same checks."""
    loaded, names = _fleet(inventory, host, group, all)
    reports = _read_fleet(api.verify, _verify_host_text, json, loaded, names, parallel, ssh_config)
    if json:
        sys.stdout.write(verify_json(reports))
    failed = [r.host for r in reports if not r.passed]
    # A host whose checks ran and failed counts as failed (1), one that could not answer by
    # its error's code.
    code = worst(
        ExitCode.FAILED if r.error is None else r.error.exit_code for r in reports if not r.passed
    )
    if not json:
        _recap("verify", [(r.host, _read_status(r.error, r.passed)) for r in reports], code)
    if failed:
        _exit(code, f"verify failed on: {', '.join(failed)}")


@task(
    klass=Command,
    name="import",
    help={
        "host": "the host's name in the inventory (required)",
        "address": "where to reach it, when the inventory has no entry for it (or to override)",
        "inventory": INVENTORY_HELP,
        "ssh_config": FLEET_HELP["ssh_config"],
        "write": "add the entry to the inventory file (comments and order kept; a backup "
        "is left next to it as FILE.bak)",
    },
)
@reported
def import_(
    c: Context,
    host: str = "",
    address: str | None = None,
    inventory: str | None = None,
    ssh_config: str | None = None,
    write: bool = False,
) -> None:
    """Read a running host's network files and print its inventory entry (a hypervisor's
    guests get their 'vm:' keys); --write adds it to the inventory. Read-only on the host."""
    text = api.adopt(
        settings.inventory(inventory),
        host,
        address=address,
        write=write,
        ssh=api.SSHOptions(ssh_config=ssh_config),
    )
    sys.stdout.write(terminal_safe(text))


ns = Collection(check, render, plan, deploy, rollback, history, log, verify, trust, import_)
ns.add_collection(lab)
