"""Bring the lab up, report on it, reset hosts, take it down: what the lab tasks call."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bsdprov.errors import InventoryError
from bsdprov.inventory import load_inventory
from bsdprov.lab.clientfiles import (
    LOOPBACK,
    render_inventory,
    render_known_hosts,
    render_ssh_config,
    write_file,
)
from bsdprov.lab.errors import LabError
from bsdprov.lab.hosts import HostSpec, plan_hosts
from bsdprov.lab.keys import ensure_key, public_key
from bsdprov.lab.like import LabEndpoint, plan_like, rewrite_inventory
from bsdprov.lab.paths import (
    DEFAULT_INVENTORY,
    LAB_DIR_ENV,
    LabPaths,
    default_lab_dir,
    fakes_dir,
)
from bsdprov.lab.processes import (
    Started,
    is_running,
    listening_ports,
    process_id,
    start_host,
    stop_process,
    wait_until_listening,
)
from bsdprov.lab.rootfs import HostFiles, build_host_root, ensure_image, init_state_args
from bsdprov.lab.state import HostRecord, LabState, load_state, save_state
from bsdprov.lab.template import ensure_template, template_has_python, template_sources

DEFAULT_BASE_PORT = 22001
BOOT_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class HostStatus:
    name: str
    os: str
    address: str
    port: int
    running: bool


@dataclass(frozen=True, slots=True)
class LabStatus:
    """Where the lab's client files are and which hosts exist (``lab.status``)."""

    lab_dir: Path
    inventory: Path | None
    ssh_config: Path
    known_hosts: Path
    hosts: tuple[HostStatus, ...]
    notes: tuple[str, ...] = ()  # what lab.up --like left out or chose, one line each

    def to_json(self) -> dict[str, object]:
        return {
            "inventory": str(self.inventory) if self.inventory else None,
            "ssh_config": str(self.ssh_config),
            "known_hosts": str(self.known_hosts),
            "hosts": [
                {
                    "name": h.name,
                    "os": h.os,
                    "address": h.address,
                    "port": h.port,
                    "running": h.running,
                }
                for h in self.hosts
            ],
        }


def check_prerequisites() -> None:
    """Raise ``LabError`` unless this is Linux, we are root and the lab's tools are here."""
    if not sys.platform.startswith("linux"):
        raise LabError(f"lab: needs Linux (namespaces, pivot_root); this is {sys.platform!r}")
    if os.geteuid() != 0:
        raise LabError("lab: needs root, to create namespaces and mounts; run it as root")
    for tool, package in (
        ("unshare", "util-linux"),
        ("ssh-keygen", "openssh-client"),
        ("ldd", "libc-bin"),
    ):
        if shutil.which(tool) is None:
            raise LabError(f"lab: {tool!r} is missing; install it with: apt-get install {package}")
    template_sources()


def up_lab(
    count: int,
    os_choice: str = "mixed",
    *,
    lab_dir: Path | None = None,
    inventory: Path = DEFAULT_INVENTORY,
    base_port: int = DEFAULT_BASE_PORT,
    fakes: Path | None = None,
    with_python: bool | None = None,
) -> LabStatus:
    """Make the lab have exactly ``count`` running hosts of ``os_choice``; return its status.

    Idempotent: hosts that exist as asked and run are left alone; stopped ones are started,
    missing ones built, hosts beyond ``count`` removed and hosts whose OS changed rebuilt
    (keeping their host key and port). Writes the inventory, ssh_config and known_hosts.
    ``with_python`` gives the hosts /usr/local/bin/python3 (True) or takes it away (False,
    rebuilding every host); None keeps what the lab has.
    """
    check_prerequisites()
    specs = plan_hosts(count, os_choice)
    return _up(specs, None, lab_dir, inventory, base_port, fakes, with_python)


def up_like_lab(
    like: Path,
    *,
    lab_dir: Path | None = None,
    inventory: Path = DEFAULT_INVENTORY,
    base_port: int = DEFAULT_BASE_PORT,
    fakes: Path | None = None,
    with_python: bool | None = None,
) -> LabStatus:
    """Make the lab have one running host per host of the inventory ``like``; return its status.

    Each lab host is named like its inventory host and has its OS, release and NICs; hosts
    without an ``os`` are left out (``LabStatus.notes`` says so). The inventory written to
    ``inventory`` is ``like``'s, with the hosts pointing at the lab (``like.rewrite_inventory``).
    Idempotent like ``up_lab``; hosts of the lab that ``like`` does not have are removed.
    """
    check_prerequisites()
    source = load_inventory(like)
    plan = plan_like(source)
    if not plan.specs:
        raise LabError(f"{like}: no host has an 'os'; the lab needs at least one")
    text = like.read_text(encoding="utf-8")
    status = _up(plan.specs, (str(like), text), lab_dir, inventory, base_port, fakes, with_python)
    notes = plan.skipped + plan.notes
    try:
        load_inventory(inventory)
    except InventoryError as exc:
        # The lab is up either way; say why bsdprov will refuse the inventory.
        notes += (f"{inventory}: the written inventory does not load: {exc}",)
    return replace(status, notes=notes)


def _up(
    specs: Sequence[HostSpec],
    like: tuple[str, str] | None,
    lab_dir: Path | None,
    inventory: Path,
    base_port: int,
    fakes: Path | None,
    with_python: bool | None,
) -> LabStatus:
    """Make the lab have exactly ``specs``; ``like`` is (path, text) of a ``--like`` source."""
    paths = _prepare(lab_dir)
    with _locked(paths):
        state = load_state(paths.state)
        client_key = ensure_key(paths.client_key, "bsdprov-lab-client")
        had_python = template_has_python(paths)
        template = ensure_template(paths, with_python)
        wanted = {spec.name for spec in specs}
        for record in state.hosts:
            if record.name not in wanted:
                _stop(record)
                shutil.rmtree(paths.host_dir(record.name), ignore_errors=True)
                state = state.without(record.name)

        to_build: list[HostRecord] = []
        to_start: list[HostRecord] = []
        for position, spec in enumerate(specs):
            existing = state.find(spec.name)
            same = had_python == template.python
            if existing and existing.spec == spec and same and paths.host_root(spec.name).is_dir():
                if not is_running(existing.process):
                    to_start.append(existing)
                continue
            if existing:
                _stop(existing)
            # The n-th host asks for base_port + n - 1 (lab01 on 22001), so ports are stable.
            port = existing.port if existing else _free_port(base_port + position, state)
            record = HostRecord(spec, port)
            state = state.with_host(record)
            to_build.append(record)
            to_start.append(record)

        fakes = fakes or fakes_dir()
        images = {
            os_key: ensure_image(paths, template, os_key, fakes)
            for os_key in sorted({spec.os for spec in specs})
        }
        _build_roots(paths, to_build, fakes, client_key, template.interpreter)
        if like is not None:
            write_file(_like_copy(paths), like[1])
        else:
            _like_copy(paths).unlink(missing_ok=True)
        state = replace(state, inventory=str(inventory.absolute()), like=like[0] if like else None)
        save_state(paths.state, state)
        state = _start(paths, state, to_start, images)
        _remove_unused_images(paths, state, images)
        _write_client_files(paths, state)
        return _status(paths, state)


def read_status(lab_dir: Path | None = None) -> LabStatus:
    """Return the lab's status; a lab never brought up has no hosts."""
    paths = _paths(lab_dir)
    return _status(paths, load_state(paths.state))


def reset_lab(
    name: str | None = None, *, lab_dir: Path | None = None, fakes: Path | None = None
) -> LabStatus:
    """Give one host (or every host) a fresh root and state; keep host keys and ports."""
    check_prerequisites()
    paths = _paths(lab_dir)
    if not paths.state.exists():
        raise LabError(f"{paths.root}: no lab here; start one with: invoke lab.up --hosts N")
    with _locked(paths):
        state = load_state(paths.state)
        if not state.hosts:
            raise LabError(f"{paths.root}: no lab here; start one with: invoke lab.up --hosts N")
        targets = list(state.hosts)
        if name is not None:
            record = state.find(name)
            if record is None:
                names = ", ".join(h.name for h in state.hosts)
                raise LabError(f"lab.reset: no host {name!r} in the lab; its hosts are {names}")
            targets = [record]
        for record in targets:
            _stop(record)
            state = state.with_host(replace(record, process=None))
        save_state(paths.state, state)
        client_key = ensure_key(paths.client_key, "bsdprov-lab-client")
        template = ensure_template(paths)
        fakes = fakes or fakes_dir()
        images = {
            os_key: ensure_image(paths, template, os_key, fakes)
            for os_key in sorted({record.spec.os for record in targets})
        }
        _build_roots(paths, targets, fakes, client_key, template.interpreter)
        state = _start(paths, state, targets, images)
        _remove_unused_images(paths, state, images)
        _write_client_files(paths, state)
        return _status(paths, state)


def down_lab(*, lab_dir: Path | None = None, purge: bool = False) -> None:
    """Stop every host process the lab started; with ``purge``, delete the lab directory too."""
    check_prerequisites()
    paths = _paths(lab_dir)
    if not paths.root.is_dir():
        return
    with _locked(paths):
        state = load_state(paths.state)
        for record in state.hosts:
            _stop(record)
            state = state.with_host(replace(record, process=None))
        if paths.state.exists() or state.hosts:
            save_state(paths.state, state)
        if purge:
            shutil.rmtree(paths.root)


def _paths(lab_dir: Path | None) -> LabPaths:
    return LabPaths((lab_dir or default_lab_dir()).absolute())


def _prepare(lab_dir: Path | None) -> LabPaths:
    paths = _paths(lab_dir)
    paths.root.mkdir(parents=True, exist_ok=True)
    if os.statvfs(paths.root).f_flag & os.ST_NOEXEC:
        raise LabError(
            f"{paths.root}: is on a file system mounted noexec, where the hosts' programs cannot "
            f"run; point ${LAB_DIR_ENV} at a directory elsewhere"
        )
    # Host roots have world-writable /tmp directories: keep other users out of the tree.
    paths.hosts.mkdir(mode=0o700, exist_ok=True)
    return paths


@contextmanager
def _locked(paths: LabPaths) -> Iterator[None]:
    """Hold the lab's lock, so two lab commands never change it at the same time."""
    with paths.lock.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _stop(record: HostRecord) -> None:
    if record.process is not None:
        stop_process(record.process)


def _free_port(start: int, state: LabState) -> int:
    """The first port from ``start`` up that no lab host has and nothing listens on.

    Hosts get ``base_port + index - 1`` when they can (lab01 on 22001), so ports are stable.
    """
    taken = {h.port for h in state.hosts}
    for port in range(start, 65536):
        if port not in taken and _port_is_free(port):
            return port
    raise LabError(f"lab: no free TCP port from {start} up")


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _build_roots(
    paths: LabPaths,
    records: Sequence[HostRecord],
    fakes: Path,
    client_key: str,
    python: str | None = None,
) -> None:
    def build(record: HostRecord) -> None:
        key = paths.host_key(record.name)
        key.parent.mkdir(parents=True, exist_ok=True)
        ensure_key(key, record.name)
        paths.host_mount(record.name).mkdir(exist_ok=True)
        build_host_root(
            paths.host_root(record.name),
            HostFiles(record.spec, fakes, key, client_key, python),
        )

    # Threads: most of the work is file system calls and ssh-keygen, both outside the GIL.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(build, records))


def _remove_unused_images(paths: LabPaths, state: LabState, current: dict[str, Path]) -> None:
    """Delete images no running host mounts and no new host would get."""
    keep = {path.name for path in current.values()}
    keep |= {Path(h.image).name for h in state.hosts if h.image and is_running(h.process)}
    for image in paths.images.iterdir():
        if image.name not in keep:
            shutil.rmtree(image, ignore_errors=True)


def _start(
    paths: LabPaths, state: LabState, records: Sequence[HostRecord], images: dict[str, Path]
) -> LabState:
    """Start ``records`` in parallel, record their PIDs, wait until each one listens."""
    started: dict[str, Started] = {}
    listening = listening_ports()
    try:
        for record in records:
            if record.port in listening or not _port_is_free(record.port):
                # Something else took the port while the host was down: move the host.
                record = replace(record, port=_free_port(record.port + 1, state))
            image = images[record.spec.os]
            started[record.name] = start_host(
                record.name,
                image,
                paths.host_root(record.name),
                paths.host_mount(record.name),
                record.port,
                paths.console_log(record.name),
                init_state_args(record.spec),
            )
            process = process_id(started[record.name].process.pid)
            state = state.with_host(replace(record, process=process, image=str(image)))
    finally:
        # Recorded before waiting: whatever happens next, lab.down can stop them.
        save_state(paths.state, state)
    wait_until_listening(started, BOOT_TIMEOUT)
    return state


def _write_client_files(paths: LabPaths, state: LabState) -> None:
    keys = {h.name: public_key(paths.host_key(h.name)) for h in state.hosts}
    write_file(
        paths.ssh_config, render_ssh_config(state.hosts, paths.client_key, paths.known_hosts)
    )
    write_file(paths.known_hosts, render_known_hosts(state.hosts, keys))
    if not state.inventory:
        return
    if state.like is not None:
        endpoints = {h.name: LabEndpoint(h.port, keys[h.name]) for h in state.hosts}
        text = _like_copy(paths).read_text(encoding="utf-8")
        rewritten = rewrite_inventory(text, state.like, endpoints, paths.ssh_config)
        write_file(Path(state.inventory), rewritten)
    else:
        write_file(Path(state.inventory), render_inventory(state.hosts, keys, paths.ssh_config))


def _like_copy(paths: LabPaths) -> Path:
    """The ``--like`` inventory as it was at lab.up, so lab.reset rewrites the same one."""
    return paths.root / "like.yaml"


def _status(paths: LabPaths, state: LabState) -> LabStatus:
    hosts = tuple(
        HostStatus(h.name, h.spec.os, LOOPBACK, h.port, is_running(h.process)) for h in state.hosts
    )
    inventory = Path(state.inventory) if state.inventory else None
    return LabStatus(paths.root, inventory, paths.ssh_config, paths.known_hosts, hosts)
