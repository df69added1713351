"""The lab: simulated FreeBSD/OpenBSD/NetBSD hosts behind real OpenSSH on 127.0.0.1.

Each host is a set of Linux namespaces (mount, UTS, IPC, PID, network) with its OS's read-only
image (busybox, sshd, the fake BSD tools) and its own /etc and /var, reached only through its
own sshd on a loopback port. Needs root and Linux. See docs/lab.md.

The API is the one the ``lab`` tasks and the pytest fixture use::

    status = up_lab(3, "mixed", lab_dir=Path("/tmp/lab"), inventory=Path("/tmp/lab.yaml"))
    status = up_like_lab(Path("inventories/example.yaml"), lab_dir=Path("/tmp/lab"))
    reset_lab("lab02", lab_dir=Path("/tmp/lab"))
    reboot_host("lab02", lab_dir=Path("/tmp/lab"))
    down_lab(lab_dir=Path("/tmp/lab"), purge=True)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bsdprov.lab.errors import LabError
    from bsdprov.lab.manager import (
        HostStatus,
        LabStatus,
        check_prerequisites,
        down_lab,
        read_status,
        reset_lab,
        up_lab,
        up_like_lab,
    )
    from bsdprov.lab.paths import default_lab_dir
    from bsdprov.lab.reboot import reboot_host

# Loaded on first use: the bsdprov command lists the lab's tasks in every --help and imports
# this package for them, and the manager's modules would cost every command's start.
_HOME = {
    "LabError": "errors",
    "default_lab_dir": "paths",
    "reboot_host": "reboot",
    **dict.fromkeys(
        (
            "HostStatus",
            "LabStatus",
            "check_prerequisites",
            "down_lab",
            "read_status",
            "reset_lab",
            "up_lab",
            "up_like_lab",
        ),
        "manager",
    ),
}


def __getattr__(name: str) -> object:
    if name not in _HOME:
        raise AttributeError(f"module 'bsdprov.lab' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bsdprov.lab.{_HOME[name]}"), name)


__all__ = [
    "HostStatus",
    "LabError",
    "LabStatus",
    "check_prerequisites",
    "default_lab_dir",
    "down_lab",
    "read_status",
    "reboot_host",
    "reset_lab",
    "up_lab",
    "up_like_lab",
]
