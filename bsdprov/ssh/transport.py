"""SSH to managed hosts: ``connect``, ``trust_host`` and ``SSHTransport``, the Fabric/Paramiko
``Transport`` (the seam itself is ``bsdprov.session``).

``bsdprov.ssh`` is the only package that imports Fabric or Paramiko. ``connect`` resolves how to
reach a host (``config``), verifies its host key against known_hosts and the inventory's pinned
``host_key`` before authenticating (``host_keys``), maps failures to one message (``errors``)
and returns an ``SSHTransport``. Every remote script runs as ``/bin/sh -s`` with the script on
stdin, because the login shell that runs the command string may be csh (root on FreeBSD <= 13).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import posixpath
import select
import socket
import stat
import time
from collections.abc import Mapping
from typing import Any

import paramiko
from fabric import Config, Connection
from paramiko.config import SSHConfig

from bsdprov.errors import RemoteCommandError, TransportError
from bsdprov.model import Host
from bsdprov.session import SHELL, CommandResult, decode, result_error
from bsdprov.ssh.config import ConnectOptions, Endpoint, resolve
from bsdprov.ssh.errors import CONNECT_ERRORS, connect_error
from bsdprov.ssh.host_keys import (
    HostKeyCheck,
    VerifiedPolicy,
    VerifyingTransport,
    fingerprint,
    record_key,
)

# paramiko logs failed handshakes with tracebacks on stderr; bsdprov reports one message.
logging.getLogger("paramiko").addHandler(logging.NullHandler())
logging.getLogger("paramiko").propagate = False

# Printed by the script's first line: its absence means the remote shell (or doas/sudo in front
# of it) never ran the script, which tells "could not become root" from "the script failed".
STARTED_MARKER = "bsdprov-started"
# Non-interactive PATHs often lack the package prefixes where sudo and doas live off OpenBSD.
_BECOME_PATH = "$PATH:/usr/local/bin:/usr/pkg/bin"
_PASSWORD_HINTS = ("password", "authenticat", "terminal is required", "tty", "askpass")

__all__ = ["ConnectOptions", "SSHTransport", "connect", "trust_host"]


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
            "transport_factory": functools.partial(VerifyingTransport, check=check),
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
        cxn.client.set_missing_host_key_policy(VerifiedPolicy())
        sock = _socket_to(endpoint, jump, timeout)
        if sock is not None:
            cxn.connect_kwargs["sock"] = sock
        cxn.open()
    except CONNECT_ERRORS as exc:
        if cxn is not None:
            cxn.client.close()
        if jump is not None:
            jump.close()
        raise connect_error(endpoint, exc, timeout) from None
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
        transport = VerifyingTransport(sock, check=check)
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
    except CONNECT_ERRORS as exc:
        raise connect_error(endpoint, exc, timeout) from None
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
        record_key(endpoint.known_hosts[0], endpoint.key_name, key, endpoint.hash_known_hosts)
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
        except CONNECT_ERRORS as exc:
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
        except CONNECT_ERRORS as exc:
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
            except CONNECT_ERRORS as exc:
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
            except CONNECT_ERRORS as exc:
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
        except CONNECT_ERRORS as exc:
            raise self._sftp_error(f"cannot write {path!r}", exc) from None

    def close(self) -> None:
        """Close the SFTP session, the connection and any jump host connection. A connection
        already cut (the run moved the address, the host rebooted) makes SFTP's goodbye raise
        EOFError or OSError: there is nothing left to close, so that is not an error."""
        sftp, self._sftp = self._sftp, None
        try:
            if sftp is not None:
                with contextlib.suppress(*CONNECT_ERRORS):
                    sftp.close()
            with contextlib.suppress(*CONNECT_ERRORS):
                self.cxn.close()
        finally:
            if self.jump is not None:
                self.jump.close()
