"""The benchmark's task, the same for every tool, and how a run is checked on each host.

Each host gets ``/etc/hostname.vio0`` as bsdprov renders it from the bench inventory (its
management address, a /32 and an on-link route to an off-subnet gateway), mode 0640, and
``sh /etc/netstart vio0`` only when the file changed. Every tool writes the same bytes, so
the check is the same for all: content, mode, and how often netstart ran.

Pure: dicts and text in, values out.
"""

from __future__ import annotations

import copy
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bsdprov.apply import probe_for, renderings
from bsdprov.inventory import parse_inventory
from bsdprov.render import render_host
from bsdprov.render.base import FileSpec

IFACE = "vio0"
TARGET = f"/etc/hostname.{IFACE}"
MODE = 0o640
GATEWAY = "198.51.100.1"  # TEST-NET-2: outside every host's subnet, so reached on-link
NETSTART = ("/etc/netstart", IFACE)  # as the lab's call log records `sh /etc/netstart vio0`


def bench_inventory(lab_inventory: Mapping[str, Any], names: list[str]) -> dict[str, Any]:
    """The lab's inventory cut to ``names``, each host with its /32 and on-link gateway.

    The management address stays: the lab shuts a host's SSH off once it is gone, as a real
    host would be cut off.
    """
    data = copy.deepcopy(dict(lab_inventory))
    data["hosts"] = {name: data["hosts"][name] for name in names}
    for n, host in enumerate(data["hosts"].values()):
        host["interfaces"][IFACE]["addresses"].append(f"203.0.113.{n % 254 + 1}/32")
        host["routes"] = [{"to": "default", "via": GATEWAY, "onlink": True}]
    return data


def desired_contents(inventory_yaml: str) -> dict[str, str]:
    """Host name -> the ``/etc/hostname.vio0`` bsdprov renders for it (what every tool writes)."""
    inventory = parse_inventory(inventory_yaml, "bench inventory")
    contents = {}
    for name, host in inventory.hosts.items():
        rendered = render_host(host, "openbsd")
        (spec,) = (f for f in rendered.files if f.path == TARGET and isinstance(f, FileSpec))
        contents[name] = spec.content
    return contents


def probe_scripts(inventory_yaml: str) -> dict[str, str]:
    """Host name -> the probe script a bsdprov plan runs on it: the floor runs it too, which
    tells the hosts' share of a plan (the probe's commands) from the controller's."""
    inventory = parse_inventory(inventory_yaml, "bench inventory")
    return {
        name: probe_for(host, renderings(host, inventory.guests(name)))
        for name, host in inventory.hosts.items()
    }


@dataclass(frozen=True, slots=True)
class Observed:
    """What a host looks like after a run, read from its files by the bench."""

    content: str | None
    mode: int | None
    calls_log: str


def netstart_runs(calls_log: str) -> int:
    """How often ``sh /etc/netstart vio0`` ran (not ``-n``), from the lab's call log."""
    return sum(1 for line in calls_log.splitlines() if tuple(shlex.split(line)) == NETSTART)


def uname_reads(calls_log: str) -> int:
    return sum(1 for line in calls_log.splitlines() if line.startswith("/usr/bin/uname -s"))


def check_host(name: str, observed: Observed, want: str, changes: bool) -> list[str]:
    """Problems with one host after a run; ``changes`` says whether netstart had to run once."""
    problems = []
    if observed.content != want:
        problems.append(f"{name}: {TARGET} does not hold the wanted config")
    if observed.mode != MODE:
        shown = "missing" if observed.mode is None else f"{observed.mode:o}"
        problems.append(f"{name}: {TARGET} has mode {shown}, not {MODE:o}")
    runs, wanted_runs = netstart_runs(observed.calls_log), int(changes)
    if runs != wanted_runs:
        problems.append(f"{name}: netstart {IFACE} ran {runs} times, not {wanted_runs}")
    if not uname_reads(observed.calls_log):
        problems.append(f"{name}: uname -s was never read")
    return problems


def sshd_counts(log: str) -> tuple[int, int]:
    """(connections, channels) in an sshd log at LogLevel VERBOSE.

    Channels are exec/shell sessions and SFTP subsystems; a connection is one accepted login.
    """
    connections = log.count("Accepted publickey")
    channels = log.count("Starting session:") + log.count("subsystem request for sftp")
    return connections, channels
