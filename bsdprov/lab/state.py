"""The lab's state file: which hosts exist, their ports and the processes the lab started."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from bsdprov.lab.errors import LabError
from bsdprov.lab.hosts import HostSpec

STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class ProcessId:
    """A process the lab started: its PID and start time (clock ticks since boot).

    The start time tells our process from a later one that got the same PID.
    """

    pid: int
    start: int


@dataclass(frozen=True, slots=True)
class HostRecord:
    """A host that exists: its spec, SSH port and (while started) its namespace process."""

    spec: HostSpec
    port: int
    process: ProcessId | None = None
    image: str | None = None  # the image the running process mounted

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True, slots=True)
class LabState:
    hosts: tuple[HostRecord, ...] = ()
    inventory: str | None = None
    like: str | None = None  # the inventory a ``--like`` lab was shaped after

    def find(self, name: str) -> HostRecord | None:
        return next((h for h in self.hosts if h.name == name), None)

    def with_host(self, record: HostRecord) -> LabState:
        """Return the state with ``record`` added or replacing the host of the same name."""
        others = [h for h in self.hosts if h.name != record.name]
        return replace(self, hosts=tuple(sorted([*others, record], key=_host_order)))

    def without(self, name: str) -> LabState:
        return replace(self, hosts=tuple(h for h in self.hosts if h.name != name))


def _host_order(record: HostRecord) -> tuple[int, str]:
    return (len(record.name), record.name)


def load_state(path: Path) -> LabState:
    """Read the state file; a missing file is an empty lab."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LabState()
    except (OSError, ValueError) as exc:
        raise LabError(f"{path}: cannot read the lab state: {exc}; run lab.down --purge") from None
    if data.get("version") != STATE_VERSION:
        version = data.get("version")
        raise LabError(f"{path}: unknown state version {version!r}; run lab.down --purge")
    try:
        hosts = tuple(_record_from_json(h) for h in data["hosts"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LabError(f"{path}: damaged lab state ({exc!r}); run lab.down --purge") from None
    return LabState(hosts, data.get("inventory"), data.get("like"))


def save_state(path: Path, state: LabState) -> None:
    """Write the state file atomically (a crash leaves the old or the new file, never half)."""
    data = {
        "version": STATE_VERSION,
        "inventory": state.inventory,
        "like": state.like,
        "hosts": [_record_to_json(h) for h in state.hosts],
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _record_to_json(record: HostRecord) -> dict[str, object]:
    spec = record.spec
    return {
        "name": spec.name,
        "os": spec.os,
        "interface": spec.interface,
        "address": str(spec.address),
        "gateway": str(spec.gateway),
        "extra_interfaces": list(spec.extra_interfaces),
        "release": spec.os_release,
        "lab_only": spec.lab_only,
        "port": record.port,
        "process": asdict(record.process) if record.process else None,
        "image": record.image,
    }


def _list(value: object) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {value!r}")
    return value


def _record_from_json(data: dict[str, object]) -> HostRecord:
    spec = HostSpec(
        name=str(data["name"]),
        os=str(data["os"]),
        interface=str(data["interface"]),
        address=IPv4Interface(str(data["address"])),
        gateway=IPv4Address(str(data["gateway"])),
        extra_interfaces=tuple(str(x) for x in _list(data.get("extra_interfaces"))),
        os_release=str(data["release"]) if data.get("release") else None,
        lab_only=data.get("lab_only") is True,
    )
    process = data.get("process")
    pid = None
    if isinstance(process, dict):
        pid = ProcessId(int(process["pid"]), int(process["start"]))
    port = data["port"]
    if not isinstance(port, int):
        raise ValueError(f"port {port!r}")
    image = data.get("image")
    return HostRecord(spec, port, pid, str(image) if image else None)
