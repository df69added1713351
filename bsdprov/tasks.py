"""Invoke tasks: parse arguments, call the core, print, exit with an ``ExitCode``."""

from __future__ import annotations

import datetime
import getpass
import os
import re
import secrets
import socket
import sys

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from bsdprov.apply import (
    Connector,
    DeployOptions,
    deploy_one,
    history_one,
    plan_outcome,
    reach,
    rollback_one,
    rollback_outcome,
    verify_one,
)
from bsdprov.errors import BsdprovError, UsageError
from bsdprov.fleet import exit_code, run_each, run_fleet, run_parallel, run_staged, select_hosts
from bsdprov.inventory import Inventory, load_inventory
from bsdprov.lab.tasks import lab
from bsdprov.outcome import Outcome
from bsdprov.output import (
    check_summary,
    deploy_text,
    history_text,
    plan_json,
    plan_text,
    render_json,
    render_text,
    verify_json,
    verify_text,
)
from bsdprov.render import render_host
from bsdprov.reporting import reported
from bsdprov.run import RUN_ID_RE
from bsdprov.verify import CheckResult

DEFAULT_INVENTORY = "inventories/example.yaml"
INVENTORY_HELP = f"inventory file (default: $BSDPROV_INVENTORY or {DEFAULT_INVENTORY})"


def inventory_path(given: str | None) -> str:
    return given or os.environ.get("BSDPROV_INVENTORY") or DEFAULT_INVENTORY


def selected(inventory: Inventory, names: list[str]) -> list[str]:
    wanted = names or list(inventory.hosts)
    for name in wanted:
        inventory.select(name)
    return wanted


@task(help={"inventory": INVENTORY_HELP})
@reported
def check(c: Context, inventory: str | None = None) -> None:
    """Validate the inventory and print a one-line summary per host."""
    sys.stdout.write(check_summary(load_inventory(inventory_path(inventory))))


@task(
    iterable=["host"],
    help={
        "host": "host to render (repeat for several; default: every host)",
        "inventory": INVENTORY_HELP,
        "json": "print the versioned JSON object instead of text",
    },
)
@reported
def render(c: Context, host: list[str], inventory: str | None = None, json: bool = False) -> None:
    """Render hosts' configuration offline (needs 'os:' in the inventory); touches nothing."""
    loaded = load_inventory(inventory_path(inventory))
    rendered = [
        render_host(loaded.hosts[name], guests=loaded.guests(name))
        for name in selected(loaded, host)
    ]
    if json:
        sys.stdout.write(render_json(rendered))
    else:
        sys.stdout.write("\n".join(render_text(r) for r in rendered))


# --- live tasks over SSH --------------------------------------------------------------------

FLEET_HELP = {
    "host": "host(s) to act on: NAME[,NAME...]",
    "group": "every host of this inventory group",
    "all": "every host of the inventory",
    "inventory": INVENTORY_HELP,
    "parallel": "hosts worked on at once (default 10)",
    "ssh_config": "ssh_config file (default: $BSDPROV_SSH_CONFIG, the inventory's, ~/.ssh/config)",
}
DEPLOY_HELP = {
    **FLEET_HELP,
    "serial": "roll out in batches of N hosts (default: all at once)",
    "max_fail": "with --serial: start no further batch once more hosts than this failed",
    "dry_run": "show what would change (diffs and commands) and touch nothing",
    "confirm_timeout": "seconds the host waits for a new SSH login before it rolls back (120)",
    "no_confirm": "no dead-man timer: for hosts whose connectivity is not at stake",
    "step_timeout": "seconds one activation command may take before it is killed (120)",
    "json": "print the versioned plan object (with --dry-run)",
    "restart_vms": "restart running VMs whose definition changed (vmd keeps the old one)",
    "purge_disks": "delete the disk images of VMs removed from the inventory (kept by default)",
    "uplink": "on a hypervisor, also change the interface carrying the SSH session",
}


def _fleet(
    inventory: str | None,
    host: str | None,
    group: str | None,
    everything: bool,
) -> tuple[Inventory, list[str]]:
    loaded = load_inventory(inventory_path(inventory))
    return loaded, select_hosts(loaded, host, group, everything)


def _connector(inventory: Inventory, ssh_config: str | None) -> Connector:
    from bsdprov.ssh.transport import ConnectOptions, connect

    options = ConnectOptions(ssh_config=ssh_config)
    return lambda host: connect(host, inventory.hosts, options)


# The dead-man timer's floor. The timer counts from its arming, so it must cover the
# activation and then a whole new SSH login: TCP, key exchange and authentication are five to
# eight round trips, about 5 s on a 600 ms satellite link, plus one of the controller's 2 s
# retries. Below that a healthy host rolls back for nothing; 0 or less used to mean no timer at
# all, which leaves a lock-out in place for good. Turning the timer off is --no-confirm only.
MIN_CONFIRM_TIMEOUT = 10


def _deploy_options(
    confirm_timeout: int,
    no_confirm: bool,
    step_timeout: int,
    restart_vms: bool = False,
    purge_disks: bool = False,
    uplink: bool = False,
) -> DeployOptions:
    """The options of a deploy or rollback, refusing timeouts that defeat the dead-man timer."""
    if not no_confirm and confirm_timeout < MIN_CONFIRM_TIMEOUT:
        raise UsageError(
            f"--confirm-timeout {confirm_timeout}: the host needs at least "
            f"{MIN_CONFIRM_TIMEOUT} seconds to see a new SSH login before it rolls back; "
            "use --no-confirm to deploy without the timer"
        )
    if step_timeout < 1:
        raise UsageError(f"--step-timeout {step_timeout}: give at least 1 second")
    return DeployOptions(
        not no_confirm,
        confirm_timeout,
        step_timeout,
        _operator(),
        restart_vms,
        purge_disks,
        uplink,
    )


def _checked_run_id(run: str | None) -> str | None:
    if run is not None and not RUN_ID_RE.fullmatch(run):
        raise UsageError(
            f"--run {run!r} is not a run id such as 20261123T151733Z-e33f37; "
            "'bsdprov history' lists them"
        )
    return run


def _run_id() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _progress(outcome: Outcome, finished: int, total: int) -> None:
    """Live per-host progress on stderr; the report itself goes to stdout at the end."""
    sys.stderr.write(f"[{finished}/{total}] {outcome.host}: {outcome.status}\n")
    sys.stderr.flush()


def _operator() -> str:
    # It goes into the run's settings file, one key a line: no newline may add a key.
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    return re.sub(r"[^A-Za-z0-9._@+-]", "?", who)


@task(
    help={
        **FLEET_HELP,
        "json": "print the versioned plan object",
        "detailed_exitcode": "exit 2 when changes are pending, 0 when none, 1 on error",
    }
)
@reported
def plan(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int = 10,
    ssh_config: str | None = None,
    json: bool = False,
    detailed_exitcode: bool = False,
) -> None:
    """Show what a deploy would change: diffs, checks and commands. Touches nothing."""
    try:
        loaded, names = _fleet(inventory, host, group, all)
        outcomes = _plan_all(loaded, names, parallel, ssh_config)
    except BsdprovError as exc:
        if detailed_exitcode:
            raise Exit(str(exc), 1) from None
        raise
    sys.stdout.write(plan_json(outcomes) if json else plan_text(outcomes))
    code = exit_code(outcomes)
    if detailed_exitcode:
        changes = any(o.status == "changes" for o in outcomes)
        raise Exit(code=1 if code else (2 if changes else 0))
    if code:
        raise Exit(code=int(code))


def _plan_all(
    loaded: Inventory,
    names: list[str],
    parallel: int,
    ssh_config: str | None,
    options: DeployOptions | None = None,
) -> list[Outcome]:
    connect = _connector(loaded, ssh_config)
    options = options or DeployOptions(user=_operator())

    def one(name: str) -> Outcome:
        host = loaded.hosts[name]
        session, reached = reach(connect, host)  # previous_address when address is not there yet
        try:
            return plan_outcome(session, host, loaded.guests(name), options, reached)
        finally:
            session.close()

    return run_fleet(names, one, parallel)


@task(help=DEPLOY_HELP)
@reported
def deploy(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int = 10,
    ssh_config: str | None = None,
    dry_run: bool = False,
    confirm_timeout: int = 120,
    no_confirm: bool = False,
    step_timeout: int = 120,
    json: bool = False,
    serial: int = 0,
    max_fail: int = 0,
    restart_vms: bool = False,
    purge_disks: bool = False,
    uplink: bool = False,
) -> None:
    """Apply the inventory to hosts, one on-host transaction each, rolled back on failure.
    Hypervisors go before their guests."""
    options = _deploy_options(
        confirm_timeout, no_confirm, step_timeout, restart_vms, purge_disks, uplink
    )
    loaded, names = _fleet(inventory, host, group, all)
    if dry_run:
        outcomes = _plan_all(loaded, names, parallel, ssh_config, options)
        sys.stdout.write(plan_json(outcomes) if json else plan_text(outcomes))
    else:
        connect = _connector(loaded, ssh_config)
        outcomes = run_staged(
            loaded,
            names,
            lambda n: deploy_one(connect, loaded.hosts[n], _run_id(), options, loaded.guests(n)),
            parallel,
            serial,
            max_fail,
            _progress,
        )
        sys.stdout.write(deploy_text(outcomes))
    code = exit_code(outcomes)
    if code:
        raise Exit(code=int(code))


ROLLBACK_HELP = {
    k: v
    for k, v in DEPLOY_HELP.items()
    if k not in ("serial", "max_fail", "restart_vms", "purge_disks", "uplink")
}


@task(help={**ROLLBACK_HELP, "run": "the run to undo (default: the last applied run)"})
@reported
def rollback(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int = 10,
    ssh_config: str | None = None,
    run: str | None = None,
    dry_run: bool = False,
    confirm_timeout: int = 120,
    no_confirm: bool = False,
    step_timeout: int = 120,
    json: bool = False,
) -> None:
    """Put back the files as they were before a run and re-activate them, as a new run."""
    options = _deploy_options(confirm_timeout, no_confirm, step_timeout)
    run = _checked_run_id(run)
    loaded, names = _fleet(inventory, host, group, all)
    connect = _connector(loaded, ssh_config)

    def one(name: str) -> Outcome:
        if not dry_run:
            return rollback_one(connect, loaded.hosts[name], run, _run_id(), options)
        session = connect(loaded.hosts[name])
        try:
            return rollback_outcome(session, loaded.hosts[name], run)
        finally:
            session.close()

    outcomes = run_fleet(names, one, parallel)
    if dry_run:
        sys.stdout.write(plan_json(outcomes) if json else plan_text(outcomes))
    else:
        sys.stdout.write(deploy_text(outcomes, "rollback"))
    code = exit_code(outcomes)
    if code:
        raise Exit(code=int(code))


@task(help=FLEET_HELP)
@reported
def history(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int = 10,
    ssh_config: str | None = None,
) -> None:
    """List the runs recorded on hosts: id, state, when, who, kind, files."""
    loaded, names = _fleet(inventory, host, group, all)
    connect = _connector(loaded, ssh_config)

    def one(name: str) -> str:
        session = connect(loaded.hosts[name])
        try:
            return history_text(name, history_one(session))
        finally:
            session.close()

    texts = run_parallel(names, one, parallel)
    sys.stdout.write("".join(text for text, _ in texts))
    code = max((int(error.exit_code) for _, error in texts if error is not None), default=0)
    if code:
        raise Exit(code=code)


@task(
    help={
        "host": "host whose key to record (required)",
        "inventory": INVENTORY_HELP,
        "ssh_config": FLEET_HELP["ssh_config"],
    }
)
@reported
def trust(
    c: Context, host: str = "", inventory: str | None = None, ssh_config: str | None = None
) -> None:
    """Record a host's SSH key in known_hosts and print its fingerprint, to compare with the
    one the host's console shows (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)."""
    if not host:
        raise UsageError("trust needs --host NAME")
    from bsdprov.ssh.transport import ConnectOptions, trust_host

    loaded = load_inventory(inventory_path(inventory))
    target = loaded.select(host)
    fingerprint = trust_host(target, loaded.hosts, ConnectOptions(ssh_config=ssh_config))
    sys.stdout.write(f"{host}: recorded {fingerprint}\n")


@task(help={**FLEET_HELP, "json": "print the versioned verify object"})
@reported
def verify(
    c: Context,
    host: str | None = None,
    group: str | None = None,
    all: bool = False,
    inventory: str | None = None,
    parallel: int = 10,
    ssh_config: str | None = None,
    json: bool = False,
) -> None:
    """Check that hosts run what the inventory says (VMs, bridges, pf, daemons, addresses),
    each check with the command's evidence. Read-only; a deploy runs the same checks."""
    loaded, names = _fleet(inventory, host, group, all)
    connect = _connector(loaded, ssh_config)

    def one(name: str) -> tuple[CheckResult, ...]:
        session = connect(loaded.hosts[name])
        try:
            return verify_one(session, loaded.hosts[name], loaded.guests(name))
        finally:
            session.close()

    reports = run_each(names, one, parallel)
    if json:
        sys.stdout.write(
            verify_json((n, results, str(error or "")) for n, results, error in reports)
        )
    else:
        for name, results, error in reports:
            sys.stdout.write(
                verify_text(name, results) if results is not None else f"== {name}\nERROR {error}\n"
            )
    failed = [
        n for n, results, _ in reports if results is None or any(not r.passed for r in results)
    ]
    if failed:
        worst = max((int(e.exit_code) for _, _, e in reports if e is not None), default=1)
        raise Exit(f"verify failed on: {', '.join(failed)}", worst)


@task(
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
    from bsdprov.adopt.run import import_live

    if not host:
        raise UsageError("import needs --host NAME")
    text = import_live(host, address, inventory_path(inventory), ssh_config, write)
    sys.stdout.write(text)


ns = Collection(check, render, plan, deploy, rollback, history, verify, trust, import_)
ns.add_collection(lab)
