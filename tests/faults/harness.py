"""Fault injection on the lab's hosts, and what a fault left behind, seen from the outside.

Used by the fault matrix (``test_fault_matrix.py``) and the randomized soak (``test_soak.py``).
Everything acts on a host from this machine: its root directory (``RunningLab.host_root``), its
processes (the lab host is a set of namespaces under one ``unshare`` process) and, where a host
path must change under the running host (a full file system, a paused tool), its mount
namespace through ``nsenter``. The controller is the real command, ``python -m bsdprov``.

Ways to stop a run at a chosen point, without changing the code under test:

- a faked BSD tool: the lab's fault switches (``/var/lab/faults/{hang,fail,fail-once}/CMD``);
  the call is logged in ``/var/log/lab-calls.log`` before it hangs, which says it was reached;
- ``cksum`` (the first command after the lock: txn.sh's re-check of the planned files): a
  shim bind-mounted over ``/usr/bin/cksum`` in the host's mount namespace, which waits while a
  pause file exists;
- the controller: ``SIGSTOP`` while the host is paused, so the host moves on without it (to
  ``awaiting-confirm``), then ``SIGKILL`` or ``SIGCONT``;
- the SSH connection: killing the host's ``sshd -i`` processes (the server side of every open
  connection), or ``/var/lab/faults/drop_after`` for connections opened later.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import yaml

from bsdprov.lab.paths import LabPaths
from bsdprov.lab.pytest_plugin import RunningLab
from bsdprov.lab.state import load_state
from bsdprov.run import FINAL_STATES
from tests.confirmed import confirmed

IFACE = {"openbsd": "vio0", "freebsd": "vtnet0", "netbsd": "vioif0"}
HOST_FILES = {
    "openbsd": ["/etc/hostname.vio0", "/etc/mygate"],
    "freebsd": ["/etc/rc.conf"],
    "netbsd": ["/etc/ifconfig.vioif0", "/etc/rc.conf"],
}
STATE_DIR = "var/db/bsdprov"
CONFIRM_TIMEOUT = 10  # the minimum: rows that wait for the timer wait this long
STEP_TIMEOUT = 4


# --- the controller ---------------------------------------------------------------------------


def background(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bsdprov", *confirmed(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def deploy_args(inventory: str, hosts: str, *extra: str) -> list[str]:
    return [
        "deploy",
        "--host",
        hosts,
        "-i",
        inventory,
        "--confirm-timeout",
        str(CONFIRM_TIMEOUT),
        "--step-timeout",
        str(STEP_TIMEOUT),
        *extra,
    ]


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.005)


# --- inventories ------------------------------------------------------------------------------


def inventory_with(lab: RunningLab, path: Path, aliases: dict[str, list[str]]) -> str:
    """The lab inventory with extra /32 addresses on each named host's interface."""
    data = yaml.safe_load(lab.inventory.read_text())
    for name, extra in aliases.items():
        (itf,) = data["hosts"][name]["interfaces"].values()
        itf["addresses"] = [*itf["addresses"], *extra]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def locked_out(lab: RunningLab, path: Path, name: str) -> str:
    """The inventory moving ``name`` to an address the lab's network cannot reach."""
    data = yaml.safe_load(lab.inventory.read_text())
    host = data["hosts"][name]
    (itf,) = host["interfaces"].values()
    itf["addresses"] = ["198.18.9.9/24"]
    host["routes"] = [{"to": "default", "via": "198.18.9.254"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


# --- what a host shows ------------------------------------------------------------------------


@dataclass(frozen=True)
class HostView:
    """A host's managed files (bytes and mode) and its live network state, normalised."""

    files: tuple[tuple[str, bytes, int], ...]
    live: tuple[str, ...]


def host_pid(lab: RunningLab, name: str) -> int:
    """A process inside the host's namespaces (the child of its ``unshare``)."""
    record = load_state(LabPaths(lab.status.lab_dir).state).find(name)
    assert record is not None and record.process is not None, f"{name} is not running"
    children = Path(f"/proc/{record.process.pid}/task/{record.process.pid}/children")
    return int(children.read_text().split()[0])


def in_host(lab: RunningLab, name: str, script: str, check: bool = True) -> str:
    """Run ``script`` with the host's busybox inside its mount namespace and root."""
    argv = ["nsenter", "-t", str(host_pid(lab, name)), "-m", "-r", "--", "/bin/busybox", "sh"]
    done = subprocess.run(argv + ["-c", script], capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"{name}: {script!r} exited {done.returncode}: {done.stderr}")
    return done.stdout


def read_host_file(lab: RunningLab, name: str, path: str) -> tuple[bytes, int] | None:
    """A file as the host sees it (through its mounts: a full /etc is a tmpfs over it)."""
    argv = ["nsenter", "-t", str(host_pid(lab, name)), "-m", "-r", "--", "/bin/busybox"]
    stat = subprocess.run(argv + ["stat", "-c", "%a", path], capture_output=True, text=True)
    if stat.returncode != 0:
        return None
    content = subprocess.run(argv + ["cat", path], capture_output=True, check=True).stdout
    return content, int(stat.stdout.strip(), 8)


def view(lab: RunningLab, name: str) -> HostView:
    files = []
    for path in HOST_FILES[lab.os_of(name)]:
        found = read_host_file(lab, name, path)
        files.append((path, *(found or (b"", -1))))
    state = lab.host_root(name) / "var/lab/state"
    itf = state / "if" / IFACE[lab.os_of(name)]
    inet = [line for line in _lines(itf) if line.startswith(("inet ", "inet6 ", "up "))]
    routes = [line for line in _lines(state / "routes")]
    return HostView(tuple(files), tuple(sorted(inet) + ["--"] + sorted(routes)))


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@dataclass(frozen=True)
class RunView:
    run_id: str
    state: str
    reason: str
    alive: bool


def runs(lab: RunningLab, name: str) -> list[RunView]:
    """The host's runs, oldest first, read as the host sees its state directory."""
    living = host_shells(lab, name)
    listing = in_host(
        lab,
        name,
        f"""for d in /{STATE_DIR}/runs/*; do
	[ -d "$d" ] || continue
	echo "${{d##*/}}"
	for f in state reason pid timer.pid; do head -n 1 "$d/$f" 2>/dev/null || echo; done
done""",
    ).splitlines()
    found = []
    for at in range(0, len(listing) - 4, 5):
        run_id, state, reason, pid, timer = listing[at : at + 5]
        alive = pid in living or timer in living
        found.append(RunView(run_id, state or "none", reason, alive))
    return found


def host_shells(lab: RunningLab, name: str) -> set[str]:
    """The pids (as the host numbers them) of the host's running shells."""
    top = load_state(LabPaths(lab.status.lab_dir).state).find(name)
    assert top is not None and top.process is not None
    return {
        str(_ns_pid(pid))
        for pid in _descendants(top.process.pid)
        if _cmd(pid).startswith(("sh ", "/bin/sh "))
    }


def _cmd(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ns_pid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    except OSError:
        return None
    return None


def settle(lab: RunningLab, name: str, seconds: float = 60) -> RunView | None:
    """The host's newest run once it is final, or once no process works on it any more."""
    deadline = time.monotonic() + seconds
    while True:
        found = runs(lab, name)
        last = found[-1] if found else None
        if last is None or last.state in FINAL_STATES or not last.alive:
            # A run with no process may still be starting (nohup): look twice.
            time.sleep(0.3)
            again = runs(lab, name)
            if (again[-1] if again else None) == last:
                return last
        if time.monotonic() > deadline:
            return last
        time.sleep(0.1)


# --- faults -----------------------------------------------------------------------------------


def fault(lab: RunningLab, name: str, kind: str, tool: str, text: str = "") -> Path:
    """Set the lab fault switch ``/var/lab/faults/KIND/TOOL``."""
    path = lab.host_root(name) / "var/lab/faults" / kind / tool
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def calls(lab: RunningLab, name: str) -> list[str]:
    return _lines(lab.host_root(name) / "var/log/lab-calls.log")


def clear_calls(lab: RunningLab, name: str) -> None:
    log = lab.host_root(name) / "var/log/lab-calls.log"
    if log.exists():
        log.write_text("")


def reached(lab: RunningLab, name: str, prefix: str) -> Callable[[], bool]:
    return lambda: any(line.startswith(prefix) for line in calls(lab, name))


def hang_once(
    lab: RunningLab, name: str, tool: str, prefix: str, seconds: int
) -> Callable[[], None]:
    """Make the next call of ``tool`` (logged as ``prefix``...) hang ``seconds``; the returned
    function waits until it is reached and removes the switch, so later calls (a rollback's)
    run normally."""
    switch = fault(lab, name, "hang", tool, f"{seconds}\n")

    marker = switch.with_name(switch.name + ".reached")  # made by the call that hangs

    def when_reached() -> None:
        # A call of the run, not the probe's read before it (the switch acts within a run).
        wait_for(
            lambda: marker.exists() and reached(lab, name, prefix)(),
            60,
            f"{name}: a call of {prefix!r} in the run",
        )
        marker.unlink()
        # The fake logs its call before it reads the switch: give it time to read it.
        time.sleep(0.5)
        switch.unlink()

    return when_reached


PAUSE_SHIM = """#!/bin/sh
: >/var/lab/paused/{tool}
while [ -e /var/lab/pause/{tool} ]; do /bin/busybox sleep 0.05; done
exec /var/lab/real/{tool} "$@"
"""


@contextmanager
def paused_tool(lab: RunningLab, name: str, tool: str) -> Iterator[Callable[[], None]]:
    """Pause the host at its next call of the real binary ``/usr/bin/TOOL`` (not a fake):
    yields a function that waits until the call is reached; leaving resumes it."""
    root = lab.host_root(name) / "var/lab"
    for sub in ("pause", "paused", "real", "shim"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "paused" / tool).unlink(missing_ok=True)  # left by an earlier pause
    (root / "pause" / tool).write_text("")
    (root / "shim" / tool).write_text(PAUSE_SHIM.format(tool=tool))
    (root / "shim" / tool).chmod(0o755)
    # The real binary is copied once: a later pause must never copy the shim itself.
    in_host(
        lab,
        name,
        f"{{ [ -e /var/lab/real/{tool} ] || cp /usr/bin/{tool} /var/lab/real/{tool}; }} && "
        f"mount --bind /var/lab/shim/{tool} /usr/bin/{tool}",
    )
    try:
        yield lambda: wait_for((root / "paused" / tool).exists, 60, f"{name}: a call of {tool}")
    finally:
        (root / "pause" / tool).unlink(missing_ok=True)
        # Lazy: the paused shell may still hold the shim open, which a plain umount refuses.
        in_host(lab, name, f"umount -l /usr/bin/{tool}")


def cut_connections(lab: RunningLab, name: str) -> int:
    """Kill the server side of every open SSH connection to ``name``; how many were cut."""
    top = load_state(LabPaths(lab.status.lab_dir).state).find(name)
    assert top is not None and top.process is not None
    inside = _descendants(top.process.pid)
    cut = 0
    for pid in inside:
        if _cmd(pid).startswith(("/usr/sbin/sshd", "sshd")):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                cut += 1
    return cut


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def full_fs(lab: RunningLab, name: str, directory: str) -> None:
    """Put ``directory`` on a tmpfs holding a copy of it and no free block: the next file
    written there fails with ENOSPC (the host sees it; its root from outside does not)."""
    in_host(
        lab,
        name,
        f"""set -e
src={directory}
mkdir -p /run/full "$src"
kb=$(du -sk "$src" | cut -f1)
mount -t tmpfs -o size=$((kb + 256))k,mode=755 full /run/full
cp -a "$src"/. /run/full/
dd if=/dev/zero of=/run/full/.lab-filler bs=4k 2>/dev/null || :
mount --bind /run/full "$src"
umount /run/full
""",
    )


# --- what a row observed ----------------------------------------------------------------------


@dataclass
class Observed:
    """What a scenario left: the controller's answer and the host's own account."""

    exit_code: int | None  # None: the controller was killed
    report: str
    files: str  # "old", "new" or "other"
    live: str
    run_state: str  # the newest run's final state, or "none"
    reason: str
    next_plan: int  # plan --detailed-exitcode: 0 nothing to do, 5 changes pending

    def summary(self) -> str:
        code = "killed" if self.exit_code is None else f"exit {self.exit_code}"
        plan = {0: "no changes", 5: "changes pending"}.get(self.next_plan, f"exit {self.next_plan}")
        return (
            f"{code}; files {self.files}, live {self.live}; run {self.run_state}; next plan: {plan}"
        )


def classify(now: object, old: object, new: object) -> str:
    return "old" if now == old else "new" if now == new else "other"


def report_line(report: str, name: str) -> str:
    return next((line for line in report.splitlines() if line.startswith(f"{name} ")), "")


def dump_json(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1) + "\n")
