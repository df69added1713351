"""SSH to managed hosts: the Fabric/Paramiko `Transport` (the seam itself is `bsdprov.session`).

This is the only module that imports fabric or paramiko. ``connect`` resolves how to reach a host
(inventory first, then ssh_config, then defaults), verifies its host key against known_hosts and
the inventory's pinned ``host_key`` before authenticating, and returns an ``SSHTransport``. Every
remote script runs as ``/bin/sh -s`` with the script on stdin, because the login shell that runs
the command string may be csh (root on FreeBSD <= 13).

Resolution order for each setting: an inventory key the host (or its defaults/groups) sets
explicitly; then ssh_config, looked up by the inventory name; then the inventory default. The
inventory's ``via`` beats ssh_config's ProxyJump, which beats ProxyCommand.
"""

from __future__ import annotations

import base64
import binascii
import errno
import functools
import getpass
import hashlib
import logging
import os
import posixpath
import re
import select
import shlex
import socket
import stat
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import paramiko
from fabric import Config, Connection
from paramiko.config import SSHConfig, SSHConfigDict
from paramiko.ssh_exception import NoValidConnectionsError

from bsdprov.errors import ConnectCause, ConnectError, RemoteCommandError, TransportError
from bsdprov.model import Host
from bsdprov.session import SHELL, CommandResult, decode, result_error

# paramiko logs failed handshakes with tracebacks on stderr; bsdprov reports one message.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False

SSH_CONFIG_ENV = "BSDPROV_SSH_CONFIG"
# Printed by the script's first line: its absence means the remote shell (or doas/sudo in front
# of it) never ran the script, which tells "could not become root" from "the script failed".
STARTED_MARKER = "bsdprov-started"
# Non-interactive PATHs often lack the package prefixes where sudo and doas live off OpenBSD.
_BECOME_PATH = "$PATH:/usr/local/bin:/usr/pkg/bin"
_PASSWORD_HINTS = ("password", "authenticat", "terminal is required", "tty", "askpass")
# Host key algorithms that verify a key of each known_hosts key type.
_ALGORITHMS_BY_KEY_TYPE = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


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


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it: ``SHA256:`` + unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _describe(key: paramiko.PKey) -> str:
    return f"{key.get_name()} key {fingerprint(key)}"


# ---------------------------------------------------------------------------------------------
# Resolving where and how to connect


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


# ---------------------------------------------------------------------------------------------
# known_hosts and host key verification


@dataclass(frozen=True, slots=True)
class KnownKey:
    """A host key recorded for a host, and where: ``FILE:LINE`` or the inventory."""

    key: paramiko.PKey
    source: str
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class KnownHosts:
    """The keys known_hosts files record for one name, and the keys they mark ``@revoked``."""

    keys: tuple[KnownKey, ...]
    revoked: tuple[KnownKey, ...]


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            return paramiko.HostKeys.hash_host(name, pattern) == pattern
        except (binascii.Error, IndexError, ValueError):
            return False
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()
    )
    return re.fullmatch(regex, name.lower()) is not None


def _patterns_match(patterns: str, name: str) -> bool:
    """OpenSSH host pattern lists: comma-separated, ``*`` and ``?``, ``!`` negates, hashed."""
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if _pattern_matches(pattern[1:] if negated else pattern, name):
            if negated:
                return False
            matched = True
    return matched


def read_known_hosts(paths: Sequence[Path], name: str) -> KnownHosts:
    """Collect the keys ``paths`` record for ``name`` (``host`` or ``[host]:port``).

    Lines that cannot be parsed, and ``@cert-authority`` lines, are skipped as OpenSSH skips
    what it cannot use; missing files count as empty.
    """
    keys: list[KnownKey] = []
    revoked: list[KnownKey] = []
    for path in paths:
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise TransportError(
                f"cannot read known_hosts file {str(path)!r}: {exc.strerror}", host=name
            ) from None
        for number, raw in enumerate(text.splitlines(), 1):
            fields = raw.split()
            if not fields or fields[0].startswith("#"):
                continue
            marker = fields.pop(0) if fields[0].startswith("@") else None
            if len(fields) < 3 or marker == "@cert-authority":
                continue
            if not _patterns_match(fields[0], name):
                continue
            try:
                key = paramiko.PKey.from_type_string(fields[1], base64.b64decode(fields[2]))
            except (binascii.Error, ValueError, paramiko.SSHException):
                continue
            known = KnownKey(key, f"{path}:{number}", path)
            (revoked if marker == "@revoked" else keys).append(known)
    return KnownHosts(tuple(keys), tuple(revoked))


def _parse_pinned(text: str) -> paramiko.PKey:
    key_type, data = text.split()[:2]
    return paramiko.PKey.from_type_string(key_type, base64.b64decode(data))


_RECORD_LOCK = threading.Lock()


def _record_key(path: Path, name: str, key: paramiko.PKey, hashed: bool) -> None:
    """Append ``key`` for ``name`` to a known_hosts file, creating it (0600) if needed."""
    entry = paramiko.HostKeys.hash_host(name) if hashed else name
    line = f"{entry} {key.get_name()} {key.get_base64()}\n"
    with _RECORD_LOCK:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as file:
            size = file.seek(0, os.SEEK_END)
            if size:
                file.seek(size - 1)
                if file.read(1) != b"\n":
                    line = "\n" + line
            file.write(line.encode())


class HostKeyRefused(paramiko.SSHException):
    """Raised during the handshake, before authentication, when a host key is not trusted."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(text)


@dataclass(slots=True)
class HostKeyCheck:
    """Decide whether a server's host key is trusted, from known_hosts and the pinned key."""

    endpoint: Endpoint
    known: KnownHosts
    pinned: paramiko.PKey | None
    accept_new: bool
    accepted: paramiko.PKey | None = None
    recorded: bool = False

    @classmethod
    def load(cls, endpoint: Endpoint, accept_new: bool) -> HostKeyCheck:
        known = read_known_hosts(endpoint.known_hosts, endpoint.key_name)
        pinned = _parse_pinned(endpoint.pinned) if endpoint.pinned else None
        return cls(endpoint, known, pinned, accept_new)

    def key_types(self) -> tuple[str, ...]:
        """Host key types to ask for, in order: only the pinned one, else the known ones first."""
        types = [self.pinned.get_name()] if self.pinned else []
        types += [k.key.get_name() for k in self.known.keys]
        return tuple(dict.fromkeys(types))

    def _trust_hint(self) -> str:
        if self.endpoint.in_inventory:
            return f"run: bsdprov trust --host {self.endpoint.name}"
        return "record it in known_hosts (for example with ssh -o StrictHostKeyChecking=accept-new)"

    def _remove_hint(self, known: KnownKey) -> str:
        name = shlex.quote(self.endpoint.key_name)
        file = shlex.quote(str(known.file))
        return (
            f"if the host was reinstalled, remove the old key with: ssh-keygen -R {name} -f "
            f"{file}, then {self._trust_hint()}"
        )

    def verify(self, key: paramiko.PKey) -> None:
        """Accept ``key`` or raise ``HostKeyRefused``; record it first if allowed and unknown."""
        name = self.endpoint.key_name
        for bad in self.known.revoked:
            if bad.key == key:
                raise HostKeyRefused(
                    f"the server presents {_describe(key)}, which {bad.source} marks as revoked"
                )
        same_type = [k for k in self.known.keys if k.key.get_name() == key.get_name()]
        if self.pinned is not None:
            if key != self.pinned:
                raise HostKeyRefused(
                    f"host key mismatch: the server presents {_describe(key)} but the inventory "
                    f"pins {_describe(self.pinned)}; if the host was reinstalled, update "
                    f"host_key in the inventory"
                )
            for known in same_type:
                if known.key != key:
                    raise HostKeyRefused(
                        f"host key mismatch: the server presents the pinned {_describe(key)} but "
                        f"{known.source} has {_describe(known.key)} for {name!r}; "
                        + self._remove_hint(known)
                    )
        elif self.known.keys:
            if not any(k.key == key for k in self.known.keys):
                known = same_type[0] if same_type else self.known.keys[0]
                raise HostKeyRefused(
                    f"host key mismatch: the server presents {_describe(key)} but {known.source} "
                    f"has {_describe(known.key)} for {name!r}; " + self._remove_hint(known)
                )
        elif self.accept_new and self.endpoint.known_hosts:
            _record_key(self.endpoint.known_hosts[0], name, key, self.endpoint.hash_known_hosts)
            self.recorded = True
        else:
            files = ", ".join(str(p) for p in self.endpoint.known_hosts) or "none configured"
            raise HostKeyRefused(
                f"unknown host key {_describe(key)}: no known_hosts file ({files}) has a key for "
                f"{name!r} and the inventory pins no host_key; check the fingerprint out of "
                f"band, then {self._trust_hint()}"
            )
        self.accepted = key


class _VerifyingTransport(paramiko.Transport):
    """A Paramiko transport that checks the host key right after key exchange, before auth."""

    def __init__(self, sock: Any, *, check: HostKeyCheck, **kwargs: Any) -> None:
        super().__init__(sock, **kwargs)
        self.check = check
        wanted = [a for t in check.key_types() for a in _ALGORITHMS_BY_KEY_TYPE.get(t, (t,))]
        options = self.get_security_options()
        first = [a for a in wanted if a in options.key_types]
        # A pinned key is asked for alone, so the server cannot answer with another type.
        rest = [] if check.pinned else [a for a in options.key_types if a not in first]
        options.key_types = [*first, *rest]

    def start_client(
        self, event: threading.Event | None = None, timeout: float | None = None
    ) -> None:
        super().start_client(event, timeout)
        if event is None and not (self.is_active() and self.initial_kex_done):
            # Paramiko returns quietly when its timeout ends before the key exchange does.
            self.close()
            raise TimeoutError(errno.ETIMEDOUT, "no SSH handshake in time")
        self.check.verify(self.get_remote_server_key())


class _VerifiedPolicy(paramiko.MissingHostKeyPolicy):
    """Accept only the key ``_VerifyingTransport`` has just verified; reject anything else."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        transport = client.get_transport()
        check = getattr(transport, "check", None)
        if not isinstance(check, HostKeyCheck) or check.accepted != key:
            raise HostKeyRefused(f"host key {_describe(key)} was not verified")


# ---------------------------------------------------------------------------------------------
# Connecting


def _connect_error(endpoint: Endpoint, exc: BaseException, timeout: float) -> ConnectError:
    where, target = endpoint.where, endpoint.target
    cause: ConnectCause
    if isinstance(exc, HostKeyRefused):
        cause, what = "host-key", exc.text
    elif isinstance(exc, paramiko.BadHostKeyException):
        cause = "host-key"
        what = (
            f"host key mismatch: the server presents {_describe(exc.key)}, expected "
            f"{_describe(exc.expected_key)}"
        )
    elif isinstance(exc, socket.gaierror):
        cause = "dns"
        what = (
            f"cannot resolve {endpoint.hostname!r} ({exc.strerror}); check the address in the "
            "inventory or HostName in ssh_config"
        )
    elif isinstance(exc, NoValidConnectionsError | ConnectionRefusedError):
        codes = (
            {getattr(e, "errno", None) for e in exc.errors.values()}
            if isinstance(exc, NoValidConnectionsError)
            else {errno.ECONNREFUSED}
        )
        if codes == {errno.ECONNREFUSED}:
            cause = "refused"
            what = f"connection refused; is sshd listening on port {endpoint.port}?"
        else:
            cause, what = "other", f"cannot connect: {exc}"
    elif isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        cause, what = "timeout", f"no SSH answer within {timeout:g} s"
    elif isinstance(exc, paramiko.PasswordRequiredException):
        cause = "auth"
        what = (
            "a private key is encrypted and bsdprov never asks for passphrases; "
            "load it into ssh-agent (ssh-add) first"
        )
    elif isinstance(exc, paramiko.BadAuthenticationType):
        cause = "auth"
        what = (
            f"the server accepts only {', '.join(exc.allowed_types)} for {endpoint.user!r}; "
            "bsdprov authenticates with keys"
        )
    elif isinstance(exc, paramiko.AuthenticationException):
        if "timeout" in str(exc).lower():
            cause, what = "timeout", f"authentication took longer than {timeout:g} s"
        else:
            cause, what = (
                "auth",
                f"authentication as {endpoint.user!r} failed ({_offered(endpoint)})",
            )
            what += "; check User and IdentityFile in ssh_config, or user in the inventory"
    elif isinstance(exc, paramiko.ChannelException) and endpoint.jump is not None:
        cause = "other"
        what = f"jump host {endpoint.jump.name!r} cannot open a connection here ({exc.text})"
    elif isinstance(exc, paramiko.SSHException):
        text = str(exc)
        if isinstance(exc.__context__, ConnectionResetError | EOFError) or "banner" in text:
            # The server accepted TCP and hung up before SSH began: refused in all but name
            # (MaxStartups, a tcpwrapper, or a host whose network change locked us out).
            cause, what = "refused", "the host closed the connection before SSH started"
        elif "No authentication methods available" in text:
            cause, what = "auth", f"no key to offer as {endpoint.user!r} ({_offered(endpoint)})"
        elif "timed out" in text.lower() or "timeout" in text.lower():
            cause, what = "timeout", f"no SSH answer within {timeout:g} s"
        else:
            cause, what = "other", f"SSH failed: {text}"
    elif isinstance(exc, OSError):
        cause, what = "other", f"cannot connect: {exc.strerror or exc}"
    else:
        cause, what = "other", f"connection lost: {type(exc).__name__}"
    return ConnectError(f"{where}: {what}", host=target, cause=cause)


def _offered(endpoint: Endpoint) -> str:
    offered = [f"IdentityFile {f}" for f in endpoint.identity_files]
    if not endpoint.identities_only:
        offered += ["ssh-agent keys", "default keys in ~/.ssh"]
    return "offered: " + ", ".join(offered) if offered else "no key offered"


_CONNECT_ERRORS = (OSError, EOFError, paramiko.SSHException)


def _socket_to(endpoint: Endpoint, jump: SSHTransport | None, timeout: float) -> Any:
    """A socket-like object that reaches the endpoint via a jump host or ProxyCommand, or None."""
    if jump is not None:
        jump.channels_opened += 1
        return jump.cxn.transport.open_channel(
            "direct-tcpip",
            dest_addr=(endpoint.hostname, endpoint.port),
            src_addr=("", 0),
            timeout=timeout,
        )
    if endpoint.proxy_command is not None:
        return paramiko.ProxyCommand(endpoint.proxy_command)
    return None


def _open(endpoint: Endpoint, options: ConnectOptions) -> SSHTransport:
    jump = None if endpoint.jump is None else _open(endpoint.jump, options)
    timeout = options.connect_timeout
    cxn = None
    try:
        check = HostKeyCheck.load(endpoint, options.accept_new)
        connect_kwargs: dict[str, Any] = {
            "timeout": timeout,
            "banner_timeout": timeout,
            "auth_timeout": timeout,
            "channel_timeout": timeout,
            "allow_agent": not endpoint.identities_only,
            "look_for_keys": not endpoint.identities_only,
            "transport_factory": functools.partial(_VerifyingTransport, check=check),
        }
        if endpoint.identity_files:
            connect_kwargs["key_filename"] = list(endpoint.identity_files)
        # An explicit empty SSHConfig and a lazy Config: Fabric reads no ssh_config or Fabric
        # config file, since resolve() has already applied them.
        cxn = Connection(
            host=endpoint.hostname,
            user=endpoint.user,
            port=endpoint.port,
            config=Config(ssh_config=SSHConfig(), lazy=True),
            gateway=False,
            forward_agent=False,
            connect_kwargs=connect_kwargs,
        )
        cxn.client.set_missing_host_key_policy(_VerifiedPolicy())
        sock = _socket_to(endpoint, jump, timeout)
        if sock is not None:
            cxn.connect_kwargs["sock"] = sock
        cxn.open()
    except _CONNECT_ERRORS as exc:
        if cxn is not None:
            cxn.client.close()
        if jump is not None:
            jump.close()
        raise _connect_error(endpoint, exc, timeout) from None
    except BaseException:
        if jump is not None:
            jump.close()
        raise
    return SSHTransport(endpoint, cxn, jump)


def connect(host: Host, hosts_by_name: Mapping[str, Host], options: ConnectOptions) -> SSHTransport:
    """Open an SSH connection to ``host`` with its host key verified; close it when done.

    Raises ``ConnectError`` (with ``cause`` dns, refused, timeout, auth, host-key or other) when
    the host, or a jump host on the way, cannot be reached, trusted or logged into.
    """
    endpoint = resolve(host, hosts_by_name, options)
    return _open(endpoint, options)


def trust_host(host: Host, hosts_by_name: Mapping[str, Host], options: ConnectOptions) -> str:
    """Fetch ``host``'s key, record it in known_hosts (as ``accept-new``), return its fingerprint.

    The key is read in the handshake, without logging in. The answer reads like
    ``ssh-ed25519 SHA256:...``. A key already recorded is left alone; a different recorded or
    pinned key makes this refuse (``ConnectError``, cause host-key).
    """
    endpoint = resolve(host, hosts_by_name, options)
    jump = None if endpoint.jump is None else _open(endpoint.jump, options)
    timeout = options.connect_timeout
    transport = None
    try:
        check = HostKeyCheck.load(endpoint, accept_new=True)
        sock = _socket_to(endpoint, jump, timeout)
        if sock is None:
            sock = socket.create_connection((endpoint.hostname, endpoint.port), timeout=timeout)
        transport = _VerifyingTransport(sock, check=check)
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    except _CONNECT_ERRORS as exc:
        raise _connect_error(endpoint, exc, timeout) from None
    finally:
        if transport is not None:
            transport.close()
        if jump is not None:
            jump.close()
    if not check.recorded and not any(k.key == key for k in check.known.keys):
        if not endpoint.known_hosts:
            raise TransportError(
                f"{endpoint.where}: no known_hosts file to record the key in", host=endpoint.target
            )
        _record_key(endpoint.known_hosts[0], endpoint.key_name, key, endpoint.hash_known_hosts)
    return f"{key.get_name()} {fingerprint(key)}"


# ---------------------------------------------------------------------------------------------
# The connected transport


def _remote_command(become: str) -> str:
    if become == "none":
        return SHELL
    # Single quotes keep csh (a possible login shell) from touching $PATH or the semicolons.
    return f"/bin/sh -c 'PATH={_BECOME_PATH}; export PATH; exec {become} -n {SHELL}'"


class SSHTransport:
    """An open SSH connection to one host (a ``Transport``); use as a context manager.

    ``channels_opened`` counts the SSH channels this connection opened (one per script, one for
    the SFTP session, one per host reached through it as a jump host): the round trips
    benchmarks report.
    """

    def __init__(self, endpoint: Endpoint, cxn: Connection, jump: SSHTransport | None) -> None:
        self.host = endpoint.host
        self.endpoint = endpoint
        self.cxn = cxn
        self.jump = jump
        self.channels_opened = 0
        self._sftp: paramiko.SFTPClient | None = None
        self._home: str | None = None

    @property
    def where(self) -> str:
        return self.endpoint.where

    @property
    def what(self) -> str:
        """The remote command scripts run under: ``/bin/sh -s`` or ``doas -n /bin/sh -s``."""
        return SHELL if self.endpoint.become == "none" else f"{self.endpoint.become} -n {SHELL}"

    def __enter__(self) -> SSHTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(
        self, problem: str, status: int | None = None, stderr: str = ""
    ) -> RemoteCommandError:
        return RemoteCommandError(
            f"{self.where}: {problem}",
            host=self.host.name,
            what=self.what,
            status=status,
            stderr=stderr,
        )

    def run_script(
        self, script: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        """Run ``script`` with ``/bin/sh -s`` (behind ``doas -n``/``sudo -n`` per ``become``).

        The script goes on stdin. Raises ``RemoteCommandError`` when it exits non-zero (unless
        ``check`` is false), when it runs past ``timeout`` seconds, when the connection drops,
        and always when doas/sudo refuse to start the shell (for example because they want a
        password, which they are never given).
        """
        payload = f"printf '%s\\n' {STARTED_MARKER}\n{script}"
        if not payload.endswith("\n"):
            payload += "\n"
        deadline = None if timeout is None else time.monotonic() + timeout
        stdout, stderr = bytearray(), bytearray()
        try:
            channel = self.cxn.transport.open_session(timeout=timeout)
        except _CONNECT_ERRORS as exc:
            raise self._error(f"cannot open an SSH session: {exc}") from None
        self.channels_opened += 1
        try:
            channel.exec_command(_remote_command(self.endpoint.become))
            channel.settimeout(timeout)
            channel.sendall(payload.encode("utf-8", "surrogateescape"))
            channel.shutdown_write()
            status = self._collect(channel, deadline, stdout, stderr)
        except TimeoutError:
            status = None
        except _CONNECT_ERRORS as exc:
            raise self._error(f"connection lost: {exc}", stderr=decode(bytes(stderr))) from None
        finally:
            channel.close()
        if status is None:
            raise self._error(
                f"{self.what!r} did not finish within {timeout:g} s", stderr=decode(bytes(stderr))
            )
        marker = (STARTED_MARKER + "\n").encode()
        if not stdout.startswith(marker):
            raise self._not_started(status, decode(bytes(stderr)))
        result = CommandResult(bytes(stdout[len(marker) :]), bytes(stderr), status)
        if check and status != 0:
            raise result_error(result, host=self.host.name, where=self.where, what=self.what)
        return result

    @staticmethod
    def _collect(
        channel: paramiko.Channel, deadline: float | None, stdout: bytearray, stderr: bytearray
    ) -> int | None:
        """Read both streams until the command ends; its status (None: killed, no status).

        Raises ``TimeoutError`` at the deadline.
        """

        def remaining() -> float | None:
            if deadline is None:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            return left

        def drain() -> None:
            while channel.recv_ready():
                stdout.extend(channel.recv(65536))
            while channel.recv_stderr_ready():
                stderr.extend(channel.recv_stderr(65536))

        while True:
            drain()
            if channel.eof_received or channel.closed:
                # Nothing more arrives after EOF; only the exit status may still be on its way.
                if not channel.status_event.wait(remaining()):
                    raise TimeoutError
                drain()
                return channel.exit_status if channel.exit_status >= 0 else None
            select.select([channel], [], [], remaining())

    def _not_started(self, status: int, stderr: str) -> RemoteCommandError:
        become = self.endpoint.become
        if become != "none":
            if any(hint in stderr.lower() for hint in _PASSWORD_HINTS):
                problem = (
                    f"{become} -n refused to start {SHELL!r} without a password; let "
                    f"{self.endpoint.user!r} run it without one ("
                    + (
                        "'permit nopass' in doas.conf"
                        if become == "doas"
                        else "NOPASSWD in sudoers"
                    )
                    + ")"
                )
            elif status == 127:
                problem = f"{become} is not installed (or not in PATH); install it or change become"
            else:
                problem = f"{become} refused to start {SHELL!r} (exit status {status})"
        else:
            problem = f"the remote shell did not run the script (exit status {status})"
        return self._error(problem, status, stderr)

    def _sftp_client(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                self._sftp = paramiko.SFTPClient.from_transport(
                    self.cxn.transport, window_size=None, max_packet_size=None
                )
            except _CONNECT_ERRORS as exc:
                raise TransportError(
                    f"{self.where}: cannot start SFTP: {exc}", host=self.host.name
                ) from None
            if self._sftp is None:
                raise TransportError(f"{self.where}: cannot start SFTP", host=self.host.name)
            self.channels_opened += 1
        return self._sftp

    def home(self) -> str:
        """The login user's home directory, as an absolute path (what SFTP starts in)."""
        if self._home is None:
            try:
                self._home = self._sftp_client().normalize(".")
            except _CONNECT_ERRORS as exc:
                raise self._sftp_error("cannot find the home directory", exc) from None
        return self._home

    def _sftp_error(self, problem: str, exc: BaseException) -> TransportError:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return TransportError(f"{self.where}: sftp: {problem}: {reason}", host=self.host.name)

    @staticmethod
    def _makedirs(sftp: paramiko.SFTPClient, directory: str, ready: set[str]) -> None:
        """Create ``directory`` and missing parents (0700); ``ready`` caches what exists."""
        parts = directory.split("/")
        for end in range(1, len(parts) + 1):
            path = "/".join(parts[:end]) or "/"
            if path in ready or (end > 1 and not parts[end - 1]):
                continue
            try:
                attrs = sftp.stat(path)
            except FileNotFoundError:
                sftp.mkdir(path, 0o700)
                sftp.chmod(path, 0o700)  # mkdir's mode passes through the server's umask
            else:
                if attrs.st_mode is not None and not stat.S_ISDIR(attrs.st_mode):
                    raise NotADirectoryError(errno.ENOTDIR, "not a directory", path)
            ready.add(path)

    def put_files(self, files: Mapping[str, bytes], directory: str, mode: int = 0o600) -> None:
        """Write ``files`` (relative path -> content) under ``directory`` in one SFTP session.

        ``directory`` and any subdirectories are created with mode 0700 (as the login user,
        not the become user); each file gets ``mode`` before its content is written.
        """
        for name in files:
            parts = name.split("/")
            if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
                raise ValueError(f"{name!r} is not a plain relative path")
        sftp = self._sftp_client()
        base = directory.rstrip("/") or "/"
        path = base
        ready: set[str] = set()
        try:
            self._makedirs(sftp, base, ready)
            for name, content in files.items():
                path = posixpath.join(base, name)
                self._makedirs(sftp, posixpath.dirname(path), ready)
                with sftp.open(path, "wb") as file:
                    sftp.chmod(path, mode)
                    file.set_pipelined(True)
                    file.write(content)
        except _CONNECT_ERRORS as exc:
            raise self._sftp_error(f"cannot write {path!r}", exc) from None

    def close(self) -> None:
        """Close the SFTP session, the connection and any jump host connection."""
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        self.cxn.close()
        if self.jump is not None:
            self.jump.close()
