"""The ``lab`` tasks: ``lab.up``, ``lab.status``, ``lab.reset``, ``lab.reboot``, ``lab.down``.

Thin: parse arguments, call ``bsdprov.lab.manager``, print. Errors end the task with one message
and an exit code (``invoke.Exit``), never a traceback.
"""

from __future__ import annotations

import json as jsonlib  # the status task has a --json flag
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.collection import Collection
from invoke.context import Context
from invoke.tasks import task

from bsdprov.errors import UsageError
from bsdprov.lab.hosts import OS_CHOICES
from bsdprov.lab.paths import DEFAULT_INVENTORY, LAB_DIR_ENV
from bsdprov.reporting import reported
from bsdprov.short_options import Command

if TYPE_CHECKING:
    from bsdprov.lab.manager import LabStatus

# The manager and reboot modules are imported by the tasks that use them: every bsdprov
# command lists these tasks, and should not pay for loading the lab to start.


def _print_status(status: LabStatus) -> None:
    width = max((len(h.name) for h in status.hosts), default=0)
    for host in status.hosts:
        state = "running" if host.running else "stopped"
        print(f"{host.name:<{width}}  {host.os:<7}  {host.address}:{host.port}  {state}")
    print(f"inventory:   {status.inventory or '(none yet)'}")
    print(f"ssh_config:  {status.ssh_config}")
    print(f"known_hosts: {status.known_hosts}")


@task(
    klass=Command,
    help={
        "hosts": "how many hosts the lab has (default 3); extra hosts are removed",
        "os": f"OS of the hosts: {'|'.join(OS_CHOICES)} (default mixed: cycles the three)",
        "inventory": f"where to write the inventory (default {DEFAULT_INVENTORY})",
        "python": "give each host /usr/local/bin/python3, as for Ansible (kept by later ups)",
        "like": "one host per host of this inventory, named and shaped like it (ignores "
        "--hosts and --os); the inventory written is this one, pointing at the lab",
    },
)
@reported
def up(
    c: Context,
    hosts: int = 3,
    os: str = "mixed",
    inventory: str = str(DEFAULT_INVENTORY),
    python: bool = False,
    like: str | None = None,
) -> None:
    """Start N simulated BSD hosts behind real sshd on 127.0.0.1 (needs root and Linux)."""
    from bsdprov.lab.manager import up_lab, up_like_lab

    with_python = True if python else None
    if like is not None:
        status = up_like_lab(Path(like), inventory=Path(inventory), with_python=with_python)
    else:
        status = up_lab(hosts, os, inventory=Path(inventory), with_python=with_python)
    for note in status.notes:
        print(f"lab.up: {note}")
    _print_status(status)
    if status.hosts:
        first = status.hosts[0].name
        print(f"try:         ssh -F {status.ssh_config} {first} uname -a")


@task(
    klass=Command,
    name="status",
    help={"json": "print JSON: inventory, ssh_config, known_hosts, hosts"},
)
@reported
def status_(c: Context, json: bool = False) -> None:
    """Show the lab's hosts and where its inventory, ssh_config and known_hosts are."""
    from bsdprov.lab.manager import read_status

    status = read_status()
    if json:
        print(jsonlib.dumps(status.to_json(), indent=2))
    elif not status.hosts:
        print(
            f"no lab hosts in {status.lab_dir} (${LAB_DIR_ENV}); start some with: "
            "invoke lab.up --hosts N"
        )
    else:
        _print_status(status)


@task(klass=Command, help={"name": "the host to reset (default: every host)"})
@reported
def reset(c: Context, name: str | None = None) -> None:
    """Give one host (or all) a fresh root and state; host keys and ports stay the same."""
    from bsdprov.lab.manager import reset_lab

    _print_status(reset_lab(name))


@task(klass=Command, help={"name": "the host to reboot"})
@reported
def reboot(c: Context, name: str) -> None:
    """Switch a host off and on: power-on network state, then its OS's boot from its files."""
    if name.startswith("-"):
        # Invoke hands a required positional argument whatever comes first, even --help.
        raise UsageError("usage: bsdprov lab.reboot NAME (help: bsdprov --help lab.reboot)")
    from bsdprov.lab.reboot import reboot_host

    print(reboot_host(name), end="")
    print(f"lab.reboot: {name} rebooted")


@task(klass=Command, help={"purge": "also delete the lab directory: host roots, keys, template"})
@reported
def down(c: Context, purge: bool = False) -> None:
    """Stop every process the lab started."""
    from bsdprov.lab.manager import down_lab

    down_lab(purge=purge)
    print("lab: purged" if purge else "lab: stopped")


lab = Collection("lab", up, status_, reset, reboot, down)
