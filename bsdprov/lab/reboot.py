"""``lab.reboot``: switch a lab host off and on again, so it boots from its own files.

The host's ``/usr/libexec/lab/reboot`` (a fake of the machine, like the BSD tools) does the work
inside the host: it ends every process of the host, puts the simulated network back to its
power-on state and runs the OS's boot sequence (sysctl.conf, netstart or rc.d, pf, daemons,
vmd, rc.local). It is started here through the host's namespaces, as a console would be, not
over SSH: a host whose configuration locked SSH out can still be rebooted, and what comes back
is what its files say. PID 1 (the lab's SSH listener, which stands for the network and the
console) is never stopped.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bsdprov.lab.errors import LabError
from bsdprov.lab.manager import check_prerequisites
from bsdprov.lab.paths import (
    HOST_LAB_LIBEXEC,
    HOST_NETNS_FILE,
    HOST_SETPRIV,
    LabPaths,
    default_lab_dir,
)
from bsdprov.lab.processes import HOST_ENV, namespace_init
from bsdprov.lab.state import load_state

HOST_REBOOT = f"/{HOST_LAB_LIBEXEC}/reboot"
# What root keeps inside a host: the bounding set boot.sh gives every SSH session.
HOST_CAPABILITIES = (
    "-all,+chown,+dac_override,+dac_read_search,+fowner,+fsetid,+kill,+setgid,+setuid,"
    "+sys_chroot,+net_bind_service,+audit_write"
)
REBOOT_TIMEOUT = 300.0


def reboot_host(name: str, *, lab_dir: Path | None = None, timeout: float = REBOOT_TIMEOUT) -> str:
    """Reboot the running lab host ``name``; return what its boot printed.

    Raises ``LabError`` when there is no such running host, or when the boot driver cannot
    start or does not end within ``timeout`` seconds. A boot step that fails (a route that
    cannot be added, a daemon that does not start) does not raise: it shows in the output and
    in the host's state, as on a real console.
    """
    check_prerequisites()
    paths = LabPaths((lab_dir or default_lab_dir()).absolute())
    state = load_state(paths.state)
    record = state.find(name)
    if record is None:
        names = ", ".join(h.name for h in state.hosts) or "none"
        raise LabError(f"lab.reboot: no host {name!r} in {paths.root}; its hosts are {names}")
    init = namespace_init(record.process) if record.process else None
    if init is None:
        raise LabError(f"lab.reboot: {name} is not running; start it with: invoke lab.up")
    argv = [
        "nsenter", f"--target={init.pid}", "--mount", "--uts", "--ipc", "--pid", "--root",
        "--wd", "--",
        "/bin/busybox", "nsenter", f"--net=/{HOST_NETNS_FILE}",
        f"/{HOST_SETPRIV}", "--bounding-set", HOST_CAPABILITIES, "--",
        "/bin/sh", HOST_REBOOT,
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=HOST_ENV,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"lab.reboot: {name} did not finish booting within {timeout:g} s") from None
    output = done.stdout.decode(errors="replace")
    with paths.console_log(name).open("a", encoding="utf-8") as console:
        console.write(output)
    if done.returncode != 0:
        tail = "\n".join("  " + line for line in output.splitlines()[-10:])
        raise LabError(f"lab.reboot: {name}: the boot failed (exit {done.returncode}):\n{tail}")
    return output
