"""Run one per-host action over many hosts in parallel; each host's failure stays its own."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

from bsdprov.errors import ApplyError, BsdprovError, ConnectError, ExitCode, UsageError
from bsdprov.inventory import Inventory
from bsdprov.outcome import Outcome

LOG = logging.getLogger("bsdprov")
Progress = Callable[[Outcome, int, int], None]


def select_hosts(
    inventory: Inventory, hosts: str | None, group: str | None, everything: bool
) -> list[str]:
    """Names from ``--host a,b``, ``--group G`` or ``--all``, in inventory order; never none."""
    given = [
        flag
        for flag, value in (("--host", hosts), ("--group", group), ("--all", everything))
        if value
    ]
    if len(given) > 1:
        raise UsageError(f"give one of --host, --group and --all, not {' and '.join(given)}")
    if not given:
        raise UsageError("name the hosts: --host NAME[,NAME...], --group GROUP or --all")
    if everything:
        if not inventory.hosts:
            raise UsageError(f"{inventory.source}: --all: the inventory has no hosts")
        return list(inventory.hosts)
    if group:
        if group not in inventory.groups:
            raise UsageError(
                f"{inventory.source}: no group {group!r}; the groups are "
                f"{', '.join(inventory.groups) or 'none'}"
            )
        if not inventory.groups[group]:
            raise UsageError(f"{inventory.source}: group {group!r} has no hosts")
        return list(inventory.groups[group])
    names = [name.strip() for name in (hosts or "").split(",") if name.strip()]
    if not names:
        raise UsageError(f"--host {hosts!r}: name at least one host")
    for name in names:
        inventory.select(name)
    return names


def told(progress: Progress | None, outcome: Outcome, finished: int, total: int) -> Outcome:
    """Tell ``progress`` of ``outcome``; the outcome, with a warning if the callback raised.

    A progress callback is the caller's display: its bug must not end the rollout, nor lose the
    outcomes already known (the hosts are changed either way). It is logged and recorded on the
    host's outcome, and the rollout goes on.
    """
    if progress is None:
        return outcome
    try:
        progress(outcome, finished, total)
    except Exception as exc:
        if os.environ.get("BSDPROV_TRACEBACK"):
            raise
        LOG.warning("progress callback failed on host %s", outcome.host, exc_info=True)
        said = f"the progress callback failed on this host's result: {type(exc).__name__}: {exc}"
        return dataclasses.replace(outcome, warnings=(*outcome.warnings, said))
    return outcome


def run_fleet(
    names: Iterable[str],
    action: Callable[[str], Outcome],
    parallel: int,
    serial: int = 0,
    max_fail: int = 0,
    progress: Callable[[Outcome, int, int], None] | None = None,
) -> list[Outcome]:
    """Run ``action`` per host; a host's error becomes its outcome, never the others'.

    With ``serial``, hosts go in batches of that size (rolling), and no further batch starts
    once more than ``max_fail`` hosts failed; the hosts not started are reported ``skipped``
    (untouched; they set no exit code of their own). ``progress`` is told of each outcome as it
    arrives.
    """

    def guarded(name: str) -> Outcome:
        try:
            return action(name)
        except ConnectError as exc:
            return Outcome(name, "unreachable", str(exc))
        except BsdprovError as exc:
            return Outcome(name, "failed", str(exc))
        except Exception as exc:  # a bug must not hide the other hosts' outcomes
            if os.environ.get("BSDPROV_TRACEBACK"):
                raise
            return Outcome(name, "failed", internal_error(exc))

    names = list(names)
    batches = [names[i : i + serial] for i in range(0, len(names), serial)] if serial else [names]
    done: dict[str, Outcome] = {}
    for batch in batches:
        if serial and sum(o.status in FAILURES for o in done.values()) > max_fail:
            for name in batch:
                done[name] = Outcome(
                    name,
                    "skipped",
                    f"not started: more than {max_fail} host(s) failed in earlier batches",
                )
                done[name] = told(progress, done[name], len(done), len(names))
            continue
        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(batch) or 1))) as pool:
            futures = {pool.submit(guarded, name): name for name in batch}
            for future in as_completed(futures):
                outcome = future.result()
                done[outcome.host] = outcome
                done[outcome.host] = told(progress, outcome, len(done), len(names))
    return [done[name] for name in names]


FAILURES = ("failed", "rolled-back", "unreachable")


def internal_error(exc: Exception) -> str:
    """One host's unexpected error, as its outcome's reason (every other host still reports)."""
    return (
        f"internal error: {type(exc).__name__}: {exc}; please report it "
        "(BSDPROV_TRACEBACK=1 shows the traceback)"
    )


def hypervisor_stages(inventory: Inventory, names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Hosts to deploy first (hypervisors and hosts that are no VM of a selected one), then
    the guests of the selected hypervisors (guest -> hypervisor): their VMs must exist before
    they can be reached."""
    chosen = set(names)
    later = {
        name: vm.hypervisor
        for name in names
        if (vm := inventory.hosts[name].vm) is not None and vm.hypervisor in chosen
    }
    return [n for n in names if n not in later], later


def run_staged(
    inventory: Inventory,
    names: Iterable[str],
    action: Callable[[str], Outcome],
    parallel: int,
    serial: int = 0,
    max_fail: int = 0,
    progress: Callable[[Outcome, int, int], None] | None = None,
) -> list[Outcome]:
    """``run_fleet`` with hypervisors before their guests; a guest whose hypervisor failed is
    not started (its VM may not be there to reach) and is ``skipped``."""
    names = list(names)
    first, later = hypervisor_stages(inventory, names)

    def counted(offset: int) -> Callable[[Outcome, int, int], None] | None:
        if progress is None:
            return None
        return lambda outcome, done, _: progress(outcome, offset + done, len(names))

    done = {o.host: o for o in run_fleet(first, action, parallel, serial, max_fail, counted(0))}

    def guest(name: str) -> Outcome:
        hypervisor = later[name]
        if done[hypervisor].status in FAILURES:
            # Untouched, as a host a --max-fail rollout did not start: skipped, not failed;
            # the hypervisor's own outcome decides the exit code.
            return Outcome(name, "skipped", f"not started: its hypervisor {hypervisor} failed")
        return action(name)

    failed = sum(o.status in FAILURES for o in done.values())
    rest = run_fleet(later, guest, parallel, serial, max(0, max_fail - failed), counted(len(first)))
    done.update({o.host: o for o in rest})
    return [done[name] for name in names]


T = TypeVar("T")


def run_each(
    names: Iterable[str],
    action: Callable[[str], T],
    parallel: int,
    on_done: Callable[[tuple[str, T | None, BsdprovError | None], int, int], None] | None = None,
) -> list[tuple[str, T | None, BsdprovError | None]]:
    """Run a read-only ``action`` per host in parallel: (name, result, None) or, when the host
    failed, (name, None, error), in the order given. ``on_done`` hears of each host as it
    finishes, on the calling thread; if it raises, that is logged and the hosts go on."""

    def guarded(name: str) -> tuple[str, T | None, BsdprovError | None]:
        try:
            return name, action(name), None
        except BsdprovError as exc:
            return name, None, exc
        except Exception as exc:
            if os.environ.get("BSDPROV_TRACEBACK"):
                raise
            return name, None, ApplyError(internal_error(exc))

    names = list(names)
    done: dict[str, tuple[str, T | None, BsdprovError | None]] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names) or 1))) as pool:
        for future in as_completed([pool.submit(guarded, name) for name in names]):
            result = future.result()
            done[result[0]] = result
            if on_done is None:
                continue
            try:
                on_done(result, len(done), len(names))
            except Exception:
                if os.environ.get("BSDPROV_TRACEBACK"):
                    raise
                LOG.warning("progress callback failed on host %s", result[0], exc_info=True)
    return [done[name] for name in names]


def run_parallel(
    names: Iterable[str], action: Callable[[str], str], parallel: int
) -> list[tuple[str, BsdprovError | None]]:
    """Run a read-only ``action`` per host in parallel; a host's error is its own line."""
    return [
        (text if text is not None else f"{name}: {error}\n", error)
        for name, text, error in run_each(names, action, parallel)
    ]


# When hosts differ, the worst decides (console.EXIT_CODES): failed, then rolled back, then
# unreachable. Not the numeric maximum: that made one unreachable host (3) hide a failed one.
PRECEDENCE = (ExitCode.FAILED, ExitCode.ROLLED_BACK, ExitCode.UNREACHABLE)


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The exit code of hosts that ended with ``codes``: the first of ``PRECEDENCE`` among
    them, else the lowest other failing code, else OK."""
    found = {ExitCode(code) for code in codes} - {ExitCode.OK}
    return next((code for code in PRECEDENCE if code in found), min(found, default=ExitCode.OK))


def exit_code(outcomes: Iterable[Outcome]) -> ExitCode:
    """The worst outcome decides: failed, then rolled back, then unreachable."""
    statuses = {o.status for o in outcomes}
    for status, code in (
        ("failed", ExitCode.FAILED),
        ("rolled-back", ExitCode.ROLLED_BACK),
        ("unreachable", ExitCode.UNREACHABLE),
    ):
        if status in statuses:
            return code
    return ExitCode.OK
