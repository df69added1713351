"""Host keys: known_hosts (hashed names, patterns, @revoked), the inventory's pinned key, and
their check right after key exchange, before any credential is sent."""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import os
import re
import shlex
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

from bsdprov.errors import TransportError
from bsdprov.ssh.config import Endpoint

# Host key algorithms that verify a key of each known_hosts key type.
_ALGORITHMS_BY_KEY_TYPE = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA256 fingerprint as OpenSSH prints it: ``SHA256:`` + unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def describe(key: paramiko.PKey) -> str:
    return f"{key.get_name()} key {fingerprint(key)}"


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
    if "*" not in pattern and "?" not in pattern:
        # Most lines name one host: every host reads every line, so a fleet of N reads N^2.
        return pattern.lower() == name.lower()
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


def record_key(path: Path, name: str, key: paramiko.PKey, hashed: bool) -> None:
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
                    f"the server presents {describe(key)}, which {bad.source} marks as revoked"
                )
        same_type = [k for k in self.known.keys if k.key.get_name() == key.get_name()]
        if self.pinned is not None:
            if key != self.pinned:
                raise HostKeyRefused(
                    f"host key mismatch: the server presents {describe(key)} but the inventory "
                    f"pins {describe(self.pinned)}; if the host was reinstalled, update "
                    f"host_key in the inventory"
                )
            for known in same_type:
                if known.key != key:
                    raise HostKeyRefused(
                        f"host key mismatch: the server presents the pinned {describe(key)} but "
                        f"{known.source} has {describe(known.key)} for {name!r}; "
                        + self._remove_hint(known)
                    )
        elif self.known.keys:
            if not any(k.key == key for k in self.known.keys):
                known = same_type[0] if same_type else self.known.keys[0]
                raise HostKeyRefused(
                    f"host key mismatch: the server presents {describe(key)} but {known.source} "
                    f"has {describe(known.key)} for {name!r}; " + self._remove_hint(known)
                )
        elif self.accept_new and self.endpoint.known_hosts:
            path = self.endpoint.known_hosts[0]
            try:
                record_key(path, name, key, self.endpoint.hash_known_hosts)
            except OSError as exc:
                # Said as what it is: the host answered; its key could not be kept.
                raise HostKeyRefused(f"cannot record its key in {path}: {exc.strerror}") from None
            self.recorded = True
        else:
            files = ", ".join(str(p) for p in self.endpoint.known_hosts) or "none configured"
            raise HostKeyRefused(
                f"unknown host key {describe(key)}: no known_hosts file ({files}) has a key for "
                f"{name!r} and the inventory pins no host_key; check the fingerprint out of "
                f"band, then {self._trust_hint()}"
            )
        self.accepted = key


class VerifyingTransport(paramiko.Transport):
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


class VerifiedPolicy(paramiko.MissingHostKeyPolicy):
    """Accept only the key ``VerifyingTransport`` has just verified; reject anything else."""

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        transport = client.get_transport()
        check = getattr(transport, "check", None)
        if not isinstance(check, HostKeyCheck) or check.accepted != key:
            raise HostKeyRefused(f"host key {describe(key)} was not verified")
