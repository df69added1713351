"""Start and stop lab hosts: one ``unshare`` process per host, tracked by PID and start time."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bsdprov.lab.errors import LabError
from bsdprov.lab.paths import BOOT_SCRIPT
from bsdprov.lab.state import ProcessId

# PID 1 of each host runs with this environment only: nothing of the caller's leaks into a host.
HOST_ENV = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "LC_ALL": "C"}
_LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp prints it
_TCP_LISTEN = "0A"


@dataclass(frozen=True, slots=True)
class Started:
    """A host process just started: what to wait for and where it logs."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    console: Path


def start_host(
    name: str,
    image: Path,
    root: Path,
    mount: Path,
    port: int,
    console: Path,
    init_args: list[str],
) -> Started:
    """Start a host: new mount/UTS/IPC/PID namespaces, then ``boot.sh`` as their PID 1.

    ``--kill-child`` makes the kernel kill PID 1, and so every process of the host, when the
    ``unshare`` process dies: no host process can outlive the PID we record.
    """
    argv = [
        "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child", "--",
        "/bin/sh", str(BOOT_SCRIPT), str(image), str(root), str(mount), name, str(port),
        *init_args,
    ]  # fmt: skip
    with console.open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=HOST_ENV,
            # A new session: a ^C in the terminal that ran lab.up must not stop the lab.
            start_new_session=True,
        )
    return Started(name, port, process, console)


def process_id(pid: int) -> ProcessId | None:
    """Identify the live process ``pid``, or return None if there is none (or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may contain spaces
    if fields[0] == "Z":
        return None
    return ProcessId(pid, int(fields[19]))


def is_running(process: ProcessId | None) -> bool:
    return process is not None and process_id(process.pid) == process


def stop_process(process: ProcessId, timeout: float = 5.0) -> None:
    """Stop a host started by ``start_host`` if ``process`` is still the one we started.

    Kills the namespace's PID 1 first: the kernel then kills every process of the host, and
    ``unshare`` collects PID 1 and exits, so no zombie is left for init to collect.
    """
    if not is_running(process):
        return
    for child in _children(process.pid):
        _kill(child)
    deadline = time.monotonic() + timeout
    while is_running(process) and time.monotonic() < deadline:
        _reap(process.pid)
        time.sleep(0.005)
    if is_running(process):
        _kill(process)  # unshare hung: its death still kills the host (parent-death signal)
    while is_running(process):
        if time.monotonic() > deadline + timeout:
            raise LabError(f"process {process.pid} did not stop within {2 * timeout:g} s")
        _reap(process.pid)
        time.sleep(0.005)
    _reap(process.pid)


def namespace_init(process: ProcessId) -> ProcessId | None:
    """PID 1 of the namespaces a host's ``unshare`` process made (its one child), if running."""
    if not is_running(process):
        return None
    return next(iter(_children(process.pid)), None)


def _children(pid: int) -> list[ProcessId]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [child for child in map(process_id, map(int, text.split())) if child is not None]


def _kill(process: ProcessId) -> None:
    if is_running(process):
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it has ended and this process is its parent."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def listening_ports() -> set[int]:
    """Ports with a TCP listener on 127.0.0.1 or on every IPv4 address of this machine."""
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        address, _, port = fields[1].partition(":")
        if fields[3] == _TCP_LISTEN and address in (_LOOPBACK_HEX, "00000000"):
            ports.add(int(port, 16))
    return ports


def wait_until_listening(started: Mapping[str, Started], timeout: float) -> None:
    """Wait until every started host accepts connections on its port.

    Raises ``LabError`` naming each host whose process exited (with the end of its console
    log) or that is still not listening after ``timeout`` seconds.
    """
    waiting = dict(started)
    deadline = time.monotonic() + timeout
    failed: list[str] = []
    while waiting:
        listening = listening_ports()
        for name, host in list(waiting.items()):
            if host.port in listening and host.process.poll() is None:
                del waiting[name]
            elif host.process.poll() is not None:
                failed.append(f"{name}: the host stopped while booting:\n{_tail(host.console)}")
                del waiting[name]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    failed += [
        f"{name}: not listening on port {h.port} after {timeout:g} s" for name, h in waiting.items()
    ]
    if failed:
        raise LabError("\n".join(sorted(failed)))


def _tail(path: Path, lines: int = 10) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "  (no console log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])
