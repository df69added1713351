"""Where and how to reach a host: the inventory, then ssh_config, then defaults, hop by hop.

Resolution order for each setting: an inventory key the host (or its defaults/groups) sets
explicitly; then ssh_config, looked up by the inventory name; then the inventory default. The
inventory's ``via`` beats ssh_config's ProxyJump, which beats ProxyCommand. Reads ssh_config
files (with paramiko's parser); opens no connection.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import paramiko
from paramiko.config import SSHConfig, SSHConfigDict

from bsdprov.errors import ConnectError, TransportError
from bsdprov.model import Host

SSH_CONFIG_ENV = "BSDPROV_SSH_CONFIG"


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """How to connect, beyond what the inventory and ssh_config say.

    ``ssh_config``: None means ``$BSDPROV_SSH_CONFIG``, else the host's ``ssh_config``, else
    ``~/.ssh/config`` when it exists. ``known_hosts``: None means ssh_config's
    UserKnownHostsFile, else ``~/.ssh/known_hosts``. ``accept_new`` records a host's key when no
    key is known for it yet (a changed key is never replaced).
    """

    ssh_config: str | None = None
    known_hosts: tuple[str, ...] | None = None
    connect_timeout: float = 10.0
    accept_new: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One resolved SSH hop: address, credentials, known_hosts files and how to reach it."""

    host: Host
    target: str
    in_inventory: bool
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...]
    identities_only: bool
    known_hosts: tuple[Path, ...]
    hash_known_hosts: bool
    pinned: str | None
    become: str
    jump: Endpoint | None = None
    proxy_command: str | None = None

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def key_name(self) -> str:
        """The name known_hosts records this endpoint's key under."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    @property
    def address(self) -> str:
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{host}:{self.port}"

    @property
    def where(self) -> str:
        """The ``<where>`` of messages: ``host 'web01' (203.0.113.21:22)``."""
        if self.name != self.target:
            return f"host {self.target!r}: jump host {self.name!r} ({self.address})"
        via = f" via {self.jump.name!r}" if self.jump else ""
        return f"host {self.name!r} ({self.address}{via})"


def _config_path(host: Host, options: ConnectOptions) -> Path | None:
    given = options.ssh_config or os.environ.get(SSH_CONFIG_ENV) or host.ssh_config
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise TransportError(
                f"host {host.name!r}: ssh_config {str(path)!r} does not exist", host=host.name
            )
        return path
    default = Path("~/.ssh/config").expanduser()
    return default if default.is_file() else None


# A Host line naming only plain host names (no pattern, negation, quote or comment).
_LITERAL_HOSTS = re.compile(r"\s*host(?:\s*=\s*|\s+)([\w.:\s-]+)", re.IGNORECASE)
_SECTION = re.compile(r"\s*(host|match)(?:\s*=\s*|\s+)", re.IGNORECASE)


@functools.lru_cache(maxsize=32)
def _ssh_config_sections(path: Path, mtime_ns: int) -> tuple[tuple[frozenset[str], str], ...]:
    """The file as (plain host names, text) sections; no names: it may apply to any host.

    paramiko's lookup tests every section and calls ``getpass.getuser()`` for each one, which
    made resolving N hosts in an N-host ssh_config (the lab's) quadratic and slow. A section
    that names only other hosts cannot apply, so a lookup parses only the sections that can.
    """
    text = path.read_text()
    if "canonicalizehostname" in text.lower():
        return ((frozenset(), text),)  # the names may change during the lookup: keep all
    sections: list[tuple[frozenset[str], str]] = []
    names: frozenset[str] = frozenset()
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if _SECTION.match(line):
            sections.append((names, "".join(lines)))
            literal = _LITERAL_HOSTS.fullmatch(line.rstrip("\n"))
            names = frozenset(literal.group(1).split()) if literal else frozenset()
            lines = []
        lines.append(line)
    sections.append((names, "".join(lines)))
    return tuple(sections)


def _parse_ssh_config(path: Path, mtime_ns: int, name: str) -> SSHConfig:
    sections = _ssh_config_sections(path, mtime_ns)
    return SSHConfig.from_text("".join(t for names, t in sections if not names or name in names))


def _lookup(path: Path | None, name: str, target: str) -> SSHConfigDict:
    if path is None:
        return SSHConfig().lookup(name)
    try:
        return _parse_ssh_config(path, path.stat().st_mtime_ns, name).lookup(name)
    except (OSError, paramiko.SSHException) as exc:
        raise TransportError(
            f"host {target!r}: cannot read ssh_config {str(path)!r}: {exc}", host=target
        ) from None


def _expand_tokens(text: str, *, hostname: str, port: int, user: str) -> str:
    values = {
        "%": "%",
        "d": str(Path("~").expanduser()),
        "u": getpass.getuser(),
        "h": hostname,
        "p": str(port),
        "r": user,
    }
    expanded = re.sub(r"%(.)", lambda m: values.get(m.group(1), m.group(0)), text)
    return os.path.expanduser(expanded)


def _parse_jump(spec: str) -> tuple[str, str | None, int | None]:
    """Split a ProxyJump hop ``[ssh://][user@]host[:port]`` into its parts."""
    spec = spec.strip().removeprefix("ssh://")
    user, _, rest = spec.rpartition("@")
    match = re.fullmatch(r"\[([^]]+)\](?::(\d+))?|([^:]+)(?::(\d+))?", rest)
    if match is None:
        return rest, user or None, None
    name = match.group(1) or match.group(3)
    port = match.group(2) or match.group(4)
    return name, user or None, int(port) if port else None


_OWN: Literal["own"] = "own"


def resolve(
    host: Host,
    hosts_by_name: Mapping[str, Host],
    options: ConnectOptions,
    *,
    target: str | None = None,
    chain: tuple[str, ...] = (),
    in_inventory: bool = True,
    jump: Endpoint | None | Literal["own"] = _OWN,
) -> Endpoint:
    """Work out how to reach ``host``: address, user, keys, known_hosts files and jump hosts.

    ``via`` names an inventory host to jump through; a ProxyJump hop that is no inventory host is
    looked up in the same ssh_config, with the local user as its default user.
    """
    target = target or host.name
    if host.name in chain:
        loop = " -> ".join((*chain, host.name))
        raise ConnectError(
            f"host {target!r}: jump hosts form a loop: {loop}", host=target, cause="other"
        )
    path = _config_path(host, options)
    cfg = _lookup(path, host.name, target)
    explicit = host.model_fields_set
    hostname = host.address or cfg.get("hostname", host.name)
    port = host.port if "port" in explicit else int(cfg.get("port", host.port))
    default_user = host.user if in_inventory else getpass.getuser()
    user = host.user if "user" in explicit else cfg.get("user", default_user)

    if options.known_hosts is not None:
        known = tuple(Path(p).expanduser() for p in options.known_hosts)
    elif "userknownhostsfile" in cfg:
        words = cfg["userknownhostsfile"].split()
        known = tuple(
            Path(_expand_tokens(w, hostname=hostname, port=port, user=user))
            for w in words
            if w.lower() != "none"
        )
    else:
        known = (Path("~/.ssh/known_hosts").expanduser(),)

    hops = chain + (host.name,)
    proxy_command = None
    hop: Endpoint | None = None if jump == _OWN else jump
    if jump == _OWN:
        if host.via is not None:
            via_host = hosts_by_name.get(host.via)
            if via_host is None:
                raise ConnectError(
                    f"host {target!r}: jump host {host.via!r} (via) is not in the inventory",
                    host=target,
                    cause="other",
                )
            hop = resolve(via_host, hosts_by_name, options, target=target, chain=hops)
        elif cfg.get("proxyjump", "none").lower() != "none":
            for spec in cfg["proxyjump"].split(","):
                hop = _resolve_hop(spec, path, hop, hosts_by_name, options, target, hops)
        elif cfg.get("proxycommand", "none").lower() != "none":
            proxy_command = cfg["proxycommand"]

    identity_files = tuple(
        f for f in cfg.get("identityfile", []) if Path(os.path.expanduser(f)).is_file()
    )
    return Endpoint(
        host=host,
        target=target,
        in_inventory=in_inventory,
        hostname=hostname,
        port=port,
        user=user,
        identity_files=identity_files,
        identities_only=cfg.get("identitiesonly", "no").lower() == "yes",
        known_hosts=known,
        hash_known_hosts=cfg.get("hashknownhosts", "no").lower() == "yes",
        pinned=host.host_key,
        become=host.become,
        jump=hop,
        proxy_command=proxy_command,
    )


def _resolve_hop(
    spec: str,
    path: Path | None,
    previous: Endpoint | None,
    hosts_by_name: Mapping[str, Host],
    options: ConnectOptions,
    target: str,
    chain: tuple[str, ...],
) -> Endpoint:
    name, user, port = _parse_jump(spec)
    update: dict[str, object] = {}
    if user:
        update["user"] = user
    if port:
        update["port"] = port
    inventory_host = hosts_by_name.get(name)
    if inventory_host is not None:
        hop = inventory_host.model_copy(update=update)
    else:
        fields = {"name": name, **update}
        if path is not None:
            fields["ssh_config"] = str(path)
        hop = Host.model_validate(fields)
    # The first hop is reached by its own rules; each later one through the hop before it.
    jump: Endpoint | None | Literal["own"] = _OWN if previous is None else previous
    return resolve(
        hop,
        hosts_by_name,
        options,
        target=target,
        chain=chain,
        in_inventory=inventory_host is not None,
        jump=jump,
    )
