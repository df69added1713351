"""bsdprov as a library: the operations the ``bsdprov`` command offers, as Python calls.

Every function takes an inventory (an ``Inventory`` or the path of its YAML file), the names of
the hosts to act on, keyword-only options (frozen dataclasses) and, for the live operations, an
injectable ``connect`` (``Host -> Transport``; the default opens SSH sessions). They return the
values the command's text and JSON reports are made from, print nothing, and raise only
``BsdprovError`` (``bsdprov.errors``) for what stops the whole call: a bad inventory, an unknown
host, options that do not fit. What goes wrong on one host of a fleet is that host's result
(an ``Outcome`` with status ``failed``/``unreachable``, or an ``error``), never an exception, so
one dead host never hides the others'.

Nothing here imports paramiko or Fabric: the SSH modules load only when a default ``connect``
is first used, so ``check`` and ``render`` start fast. See docs/api.md.
"""

from __future__ import annotations

import datetime
import getpass
import os
import re
import secrets
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bsdprov.apply import DeployOptions as ApplyOptions
from bsdprov.apply import (
    deploy_one,
    history_one,
    plan_outcome,
    reach,
    rollback_one,
    rollback_outcome,
    verify_one,
)
from bsdprov.errors import BsdprovError, ExitCode, UsageError
from bsdprov.fleet import exit_code as fleet_exit_code
from bsdprov.fleet import run_each, run_fleet, run_staged
from bsdprov.fleet import select_hosts as fleet_select
from bsdprov.inventory import Inventory, load_inventory
from bsdprov.inventory.tool_settings import MAX_TIMEOUT, MIN_CONFIRM_TIMEOUT
from bsdprov.model import Host
from bsdprov.outcome import HostChecks, HostRuns, Outcome, RunRecord, Status
from bsdprov.plan import Plan, mask_secrets
from bsdprov.render import Rendered, render_host
from bsdprov.run import RUN_ID_RE
from bsdprov.runlog import RunJournal, journal_script, parse_journal
from bsdprov.session import Reader, Transport
from bsdprov.vmd import Guest

__all__ = [
    "MAX_TIMEOUT",
    "MIN_CONFIRM_TIMEOUT",
    "BsdprovError",
    "Connector",
    "DeployOptions",
    "HostChecks",
    "HostProgress",
    "HostRuns",
    "Inventory",
    "Outcome",
    "Rollout",
    "RunJournal",
    "RunRecord",
    "SSHOptions",
    "adopt",
    "check",
    "checked_run_id",
    "deploy",
    "exit_code",
    "history",
    "journal",
    "names_of",
    "new_run_id",
    "operator_name",
    "plan",
    "plan_rollback",
    "render",
    "rollback",
    "select_hosts",
    "ssh_connector",
    "trust",
    "verify",
]

InventoryLike = Inventory | str | os.PathLike[str]
T = TypeVar("T")
Connector = Callable[[Host], Transport]
"""Opens a new session to a host; deploy calls it again to confirm over a new connection."""


# --- options ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SSHOptions:
    """How the default ``connect`` reaches hosts (ignored when a ``connect`` is given)."""

    ssh_config: str | None = None
    """ssh_config file; None: ``$BSDPROV_SSH_CONFIG``, the inventory's, ``~/.ssh/config``."""


# MIN_CONFIRM_TIMEOUT and MAX_TIMEOUT (why each is what it is: bsdprov.inventory.tool_settings)


def _whole_number(flag: str, value: object, high: int | None = None) -> None:
    """Refuse what the host could not count: a bool, a float, a string, past ``high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{flag} {value!r}: give a whole number")
    if high is not None and value > high:
        raise UsageError(f"{flag} {value}: give at most {high} seconds (a day)")


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployOptions:
    """What a deploy (or its plan) may change and how long the host waits."""

    confirm: bool = True
    """Arm the dead-man timer: the host rolls back unless a new SSH login confirms the run."""
    confirm_timeout: int = 120
    step_timeout: int = 120
    restart_vms: bool = False
    purge_disks: bool = False
    uplink: bool = False

    def __post_init__(self) -> None:
        # A switch read from the environment or a config is often the string "false", which
        # is true: purge_disks="false" deleted the disk images of VMs dropped from the inventory.
        for name in ("confirm", "restart_vms", "purge_disks", "uplink"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} {getattr(self, name)!r}: give True or False")
        _whole_number("--confirm-timeout", self.confirm_timeout, MAX_TIMEOUT)
        _whole_number("--step-timeout", self.step_timeout, MAX_TIMEOUT)
        if self.confirm and self.confirm_timeout < MIN_CONFIRM_TIMEOUT:
            raise UsageError(
                f"--confirm-timeout {self.confirm_timeout}: the host needs at least "
                f"{MIN_CONFIRM_TIMEOUT} seconds to see a new SSH login before it rolls back; "
                "use --no-confirm to deploy without the timer"
            )
        if self.step_timeout < 1:
            raise UsageError(f"--step-timeout {self.step_timeout}: give at least 1 second")


@dataclass(frozen=True, slots=True)
class HostProgress:
    """One event of a rollout, for a progress display: a host has finished.

    ``finished`` counts the hosts done so far out of ``total``. For ``verify`` and ``history``,
    ``report`` is the host's ``HostChecks`` or ``HostRuns`` and ``outcome`` sums it up: status
    ``unchanged`` (it answered; every check passed), ``failed`` or ``unreachable``. Fields may
    be added (a host starting, a phase) without breaking a callback that reads these.
    """

    outcome: Outcome
    finished: int
    total: int
    report: HostChecks | HostRuns | None = None

    @property
    def host(self) -> str:
        return self.outcome.host


def new_run_id() -> str:
    """A fresh run id: UTC time, then six random hex digits (``RUN_ID_RE``)."""
    now = datetime.datetime.now(datetime.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def operator_name() -> str:
    """``user@machine`` of whoever runs bsdprov, as each run records it."""
    # It goes into the run's settings file, one key a line: no newline may add a key.
    who = f"{getpass.getuser()}@{socket.gethostname()}"
    return re.sub(r"[^A-Za-z0-9._@+-]", "?", who)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rollout:
    """How a fleet operation goes through its hosts, and who it says it is.

    ``parallel`` hosts at once; with ``serial`` (deploy only), in batches of that many,
    starting no further batch once more than ``max_fail`` hosts failed. ``progress`` hears of
    each host as it finishes, on the calling thread. ``run_id`` makes the id of each run
    started on a host; ``operator`` is recorded in it.
    """

    parallel: int = 10
    serial: int = 0
    max_fail: int = 0
    progress: Callable[[HostProgress], None] | None = None
    operator: str = field(default_factory=operator_name)
    run_id: Callable[[], str] | None = None
    """None: ``new_run_id``."""

    def __post_init__(self) -> None:
        for name in ("parallel", "serial", "max_fail"):
            value, flag = getattr(self, name), f"--{name.replace('_', '-')}"
            low = 1 if name == "parallel" else 0
            _whole_number(flag, value)
            if value < low:
                raise UsageError(f"{flag} {value}: give a whole number of at least {low}")
        # It goes into the run's settings file, one key a line (the last wins), and history's
        # tab-separated lines: a line break could set confirm_timeout=0, a tab hide the run.
        if not isinstance(self.operator, str) or not self.operator.strip():
            raise UsageError(f"operator {self.operator!r}: give a name such as user@machine")
        if not self.operator.isprintable():
            raise UsageError(
                f"operator {self.operator!r}: no line breaks, tabs or control characters"
            )

    def _next_run_id(self) -> str:
        made = (self.run_id or new_run_id)()
        # The id names the run's directories on the host, which the start script empties
        # ('rm -rf .../runs/<id>') before txn.sh reads it: '' would be every run's backup.
        if not isinstance(made, str) or not RUN_ID_RE.fullmatch(made):
            raise UsageError(f"run_id made {made!r}, not a run id such as 20261123T151733Z-e33f37")
        return made

    def _on_outcome(self) -> Callable[[Outcome, int, int], None] | None:
        progress = self.progress
        if progress is None:
            return None
        return lambda outcome, finished, total: progress(HostProgress(outcome, finished, total))

    def _on_report(
        self, make: Callable[[str, T | None, BsdprovError | None], HostChecks | HostRuns]
    ) -> Callable[[tuple[str, T | None, BsdprovError | None], int, int], None] | None:
        """A read-only task's ``progress``: each host's report, with an outcome summing it up."""
        progress = self.progress
        if progress is None:
            return None

        def tell(
            done: tuple[str, T | None, BsdprovError | None], finished: int, total: int
        ) -> None:
            report = make(*done)
            progress(HostProgress(_summed_up(report), finished, total, report))

        return tell


def _summed_up(report: HostChecks | HostRuns) -> Outcome:
    error = report.error
    if error is not None:
        status: Status = "unreachable" if error.exit_code == ExitCode.UNREACHABLE else "failed"
        return Outcome(report.host, status, str(error))
    if isinstance(report, HostChecks) and not report.passed:
        return Outcome(report.host, "failed", "a check failed")
    return Outcome(report.host, "unchanged")


# --- offline ------------------------------------------------------------------------------------


def load(inventory: InventoryLike) -> Inventory:
    """The inventory itself, or the one loaded and validated from its file."""
    if isinstance(inventory, Inventory):
        return inventory
    return load_inventory(os.fspath(inventory))


def check(inventory: InventoryLike) -> Inventory:
    """Load and validate an inventory; raises ``InventoryError`` listing every problem."""
    return load(inventory)


def names_of(hosts: str | Sequence[str]) -> list[str]:
    """Host names from a list or a ``"a,b"`` string, each once, in the order given."""
    given = hosts.split(",") if isinstance(hosts, str) else hosts
    return list(dict.fromkeys(name.strip() for name in given if name.strip()))


def render(inventory: InventoryLike, hosts: str | Sequence[str] = ()) -> list[Rendered]:
    """Render hosts offline (every host when ``hosts`` is empty); needs ``os:`` per host."""
    loaded = load(inventory)
    names = names_of(hosts) or list(loaded.hosts)
    for name in names:
        loaded.select(name)
    return [render_host(loaded.hosts[n], guests=loaded.guests(n)) for n in names]


def select_hosts(
    inventory: InventoryLike,
    hosts: str | Sequence[str] | None = None,
    *,
    group: str | None = None,
    everything: bool = False,
) -> list[str]:
    """Host names from exactly one of: ``hosts`` (a list, or ``"a,b"``), a group, every host."""
    given = None if hosts is None else ",".join(names_of(hosts))
    return names_of(fleet_select(load(inventory), given, group, everything))


# --- live ---------------------------------------------------------------------------------------


def ssh_connector(inventory: Inventory, ssh: SSHOptions) -> Connector:
    """The default ``connect``: SSH with host keys verified (imports paramiko on first use)."""

    def connect(host: Host) -> Transport:
        from bsdprov.ssh.transport import ConnectOptions
        from bsdprov.ssh.transport import connect as ssh_connect

        return ssh_connect(host, inventory.hosts, ConnectOptions(ssh_config=ssh.ssh_config))

    return connect


def _live(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    connect: Connector | None,
    ssh: SSHOptions,
) -> tuple[Inventory, list[str], Connector]:
    loaded = load(inventory)
    names = names_of(hosts)
    if not names:
        raise UsageError("name the hosts: --host NAME[,NAME...], --group GROUP or --all")
    for name in names:
        loaded.select(name)
    return loaded, names, connect or ssh_connector(loaded, ssh)


@contextmanager
def _session(connect: Connector, host: Host) -> Iterator[Transport]:
    """A new session to ``host``, closed when the block ends."""
    session = connect(host)
    try:
        yield session
    finally:
        session.close()


def _apply_options(options: DeployOptions, rollout: Rollout) -> ApplyOptions:
    return ApplyOptions(
        confirm=options.confirm,
        confirm_timeout=options.confirm_timeout,
        step_timeout=options.step_timeout,
        user=rollout.operator,
        restart_vms=options.restart_vms,
        purge_disks=options.purge_disks,
        uplink=options.uplink,
    )


def plan(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    *,
    options: DeployOptions = DeployOptions(),
    rollout: Rollout | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
) -> list[Outcome]:
    """What a deploy with ``options`` would change on each host (status ``changes`` or
    ``unchanged``, with its ``Plan``). Only reads the hosts."""
    rollout = rollout or Rollout()
    loaded, names, opened = _live(inventory, hosts, connect, ssh)
    chosen = _apply_options(options, rollout)

    def one(name: str) -> Outcome:
        host = loaded.hosts[name]
        # previous_address when the host does not answer at address yet (a management move).
        session, reached = reach(opened, host)
        try:
            return plan_outcome(session, host, loaded.guests(name), chosen, reached)
        finally:
            session.close()

    return run_fleet(names, one, rollout.parallel, progress=rollout._on_outcome())


def deploy(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    *,
    options: DeployOptions = DeployOptions(),
    rollout: Rollout | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
    expect: Mapping[str, Callable[[Plan], None]] | None = None,
) -> list[Outcome]:
    """Apply the inventory to each host as one on-host transaction, rolled back on failure;
    hypervisors go before their guests. One ``Outcome`` per host, in the order given.
    ``expect`` maps a host to a check of the plan about to be applied, which may refuse it
    (``bsdprov.savedplan``: a saved plan); the host then fails with nothing changed."""
    rollout = rollout or Rollout()
    loaded, names, opened = _live(inventory, hosts, connect, ssh)
    chosen = _apply_options(options, rollout)
    expected = expect or {}
    return run_staged(
        loaded,
        names,
        lambda n: deploy_one(
            opened,
            loaded.hosts[n],
            rollout._next_run_id(),
            chosen,
            loaded.guests(n),
            expected.get(n),
        ),
        rollout.parallel,
        rollout.serial,
        rollout.max_fail,
        rollout._on_outcome(),
    )


def checked_run_id(run: str | None) -> str | None:
    """``run`` (None: the newest run), refused with UsageError unless it is a run id."""
    if run is not None and not RUN_ID_RE.fullmatch(run):
        raise UsageError(
            f"--run {run!r} is not a run id such as 20261123T151733Z-e33f37; "
            "'bsdprov history' lists them"
        )
    return run


def _rollback(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    run: str | None,
    options: DeployOptions,
    rollout: Rollout | None,
    ssh: SSHOptions,
    connect: Connector | None,
    dry_run: bool,
    expect: Mapping[str, Callable[[Plan], None]] | None = None,
) -> list[Outcome]:
    rollout = rollout or Rollout()
    expected = expect or {}
    run = checked_run_id(run)
    loaded, names, opened = _live(inventory, hosts, connect, ssh)
    chosen = _apply_options(options, rollout)

    def one(name: str) -> Outcome:
        if not dry_run:
            host = loaded.hosts[name]
            check = expected.get(name)
            return rollback_one(opened, host, run, rollout._next_run_id(), chosen, check)
        with _session(opened, loaded.hosts[name]) as session:
            return rollback_outcome(session, loaded.hosts[name], run)

    return run_fleet(names, one, rollout.parallel, progress=rollout._on_outcome())


def plan_rollback(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    *,
    run: str | None = None,
    rollout: Rollout | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
) -> list[Outcome]:
    """What ``rollback`` would put back on each host (the last applied run, or ``run``).
    Only reads the hosts."""
    return _rollback(inventory, hosts, run, DeployOptions(), rollout, ssh, connect, True)


def rollback(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    *,
    run: str | None = None,
    options: DeployOptions = DeployOptions(),
    rollout: Rollout | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
    expect: Mapping[str, Callable[[Plan], None]] | None = None,
) -> list[Outcome]:
    """Put back the files as they were before ``run`` (default: each host's last applied run)
    and re-activate them, as a new run with the same safeguards as a deploy. ``expect`` maps a
    host to a check of the rollback's plan about to be applied, as for ``deploy`` (the CLI:
    the plan shown before its question); the host then fails with nothing changed."""
    return _rollback(inventory, hosts, run, options, rollout, ssh, connect, False, expect)


def history(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    *,
    rollout: Rollout | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
) -> list[HostRuns]:
    """The runs recorded on each host, oldest first; a host that cannot answer has ``error``."""
    return _read_each(
        inventory,
        hosts,
        lambda session, host, guests: tuple(history_one(session)),
        HostRuns,
        rollout,
        ssh,
        connect,
    )


def journal(
    inventory: InventoryLike,
    host: str,
    *,
    run: str | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
) -> RunJournal:
    """The whole journal of ``run`` on ``host`` (default: its newest run), read-only; secrets
    masked. ``run_id`` is None when the host has no such run."""
    script = journal_script(checked_run_id(run))
    loaded, names, opened = _live(inventory, [host], connect, ssh)
    with _session(opened, loaded.hosts[names[0]]) as session:
        answer = session.run_script(script, timeout=60).stdout_text
    found = parse_journal(names[0], answer)
    return RunJournal(found.host, found.run_id, mask_secrets(found.journal))


def verify(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    *,
    rollout: Rollout | None = None,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
) -> list[HostChecks]:
    """Run each host's verify checks (read-only): each check passed or not, with evidence."""
    return _read_each(inventory, hosts, verify_one, HostChecks, rollout, ssh, connect)


Report = TypeVar("Report", HostChecks, HostRuns)


def _read_each(
    inventory: InventoryLike,
    hosts: str | Sequence[str],
    read: Callable[[Reader, Host, tuple[Guest, ...]], T],
    report: Callable[[str, T | None, BsdprovError | None], Report],
    rollout: Rollout | None,
    ssh: SSHOptions,
    connect: Connector | None,
) -> list[Report]:
    """A read-only task: ``read`` on each host's session, in parallel, each host's ``report``
    (its result, or the error that kept it from answering) told to the rollout as it is known."""
    rollout = rollout or Rollout()
    loaded, names, opened = _live(inventory, hosts, connect, ssh)

    def one(name: str) -> T:
        with _session(opened, loaded.hosts[name]) as session:
            return read(session, loaded.hosts[name], loaded.guests(name))

    return [
        report(*done) for done in run_each(names, one, rollout.parallel, rollout._on_report(report))
    ]


TrustConnector = Callable[[Host, Mapping[str, Host], SSHOptions], str]
"""Connects to a host, records its key in known_hosts and returns the key's fingerprint."""


def _trust_over_ssh(host: Host, hosts: Mapping[str, Host], ssh: SSHOptions) -> str:
    from bsdprov.ssh.transport import ConnectOptions, trust_host

    return trust_host(host, dict(hosts), ConnectOptions(ssh_config=ssh.ssh_config))


def trust(
    inventory: InventoryLike,
    host: str,
    *,
    ssh: SSHOptions = SSHOptions(),
    connect: TrustConnector | None = None,
) -> str:
    """Record ``host``'s SSH key in known_hosts; return its fingerprint, to compare with the
    one the host's console shows. Raises ``ConnectError`` when the host cannot be reached."""
    if not host:
        raise UsageError("trust needs --host NAME")
    loaded = load(inventory)
    target = loaded.select(host)
    return (connect or _trust_over_ssh)(target, loaded.hosts, ssh)


def adopt(
    inventory: str | os.PathLike[str],
    host: str,
    *,
    address: str | None = None,
    write: bool = False,
    ssh: SSHOptions = SSHOptions(),
    connect: Connector | None = None,
) -> str:
    """``bsdprov import``: read a running host's network files (one read-only exec) and return
    its inventory entry as YAML, headed by comments naming what it could not import. The host
    is the inventory's entry, or a new one at ``address`` (which also overrides the entry's).
    ``write`` adds the entry to the inventory file (comments and order kept, the old file left
    as FILE.bak); the inventory file need not exist yet."""
    if not host:
        raise UsageError("import needs --host NAME")
    from bsdprov.adopt.run import import_live

    return import_live(host, address, os.fspath(inventory), ssh.ssh_config, write, connect)


def exit_code(outcomes: Iterable[Outcome]) -> ExitCode:
    """The worst outcome decides: failed (1), then rolled back (4), then unreachable (3)."""
    return fleet_exit_code(outcomes)


def inventory_path(given: str | Path | None) -> str:
    """The inventory file: the one given, else ``$BSDPROV_INVENTORY``, else the example."""
    return os.fspath(given or os.environ.get("BSDPROV_INVENTORY") or DEFAULT_INVENTORY)


DEFAULT_INVENTORY = "inventories/example.yaml"
