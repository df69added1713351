"""SSH servers for the transport tests: a fixed-up in-process ``mockssh`` and a real sshd.

mockssh 0.9.1 does pubkey auth, exec (through the local shell) and SFTP (on the local
filesystem), but its exec handler never closes the command's stdin when the client sends EOF, so
``/bin/sh -s`` fed a script on stdin waits forever; it also reads output line by line, leaves the
command running when the client gives up, and refuses ``direct-tcpip`` channels (no jump hosts).
``Handler`` below replaces its exec handling and adds loopback-only ``direct-tcpip``.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from io import StringIO
from pathlib import Path
from typing import Any

import mockssh
import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from mockssh import sftp as mock_sftp
from paramiko.common import (
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_CONNECT_FAILED,
    OPEN_SUCCEEDED,
)


def new_key() -> tuple[paramiko.PKey, str]:
    """A fresh ed25519 key and its private key text in OpenSSH format."""
    private = ed25519.Ed25519PrivateKey.generate()
    text = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return paramiko.Ed25519Key.from_private_key(StringIO(text)), text


def public_text(key: paramiko.PKey) -> str:
    """``TYPE BASE64``, as known_hosts and the inventory's ``host_key`` write a key."""
    return f"{key.get_name()} {key.get_base64()}"


def write_key(path: Path) -> paramiko.PKey:
    """Write a new private key (0600) and its ``.pub`` to ``path``; return the key."""
    key, text = new_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    path.with_name(path.name + ".pub").write_text(public_text(key) + " test\n")
    return key


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Handler(mockssh.server.Handler):  # type: ignore[misc]
    """mockssh's handler with a per-server host key, working stdin EOF and direct-tcpip."""

    def __init__(self, server: MockServer, client_conn: tuple[socket.socket, Any]) -> None:
        self.server = server
        self.thread = None
        self.command_queues: dict[int, queue.Queue[bytes]] = {}
        self.forwards: dict[int, socket.socket] = {}
        self.transport = paramiko.Transport(client_conn[0])
        self.transport.add_server_key(server.host_key)
        self.transport.set_subsystem_handler("sftp", mock_sftp.SFTPServer)

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.server.auth_attempts.append(username)
        return int(super().check_auth_publickey(username, key))

    def check_channel_direct_tcpip_request(
        self, chanid: int, origin: tuple[str, int], destination: tuple[str, int]
    ) -> int:
        host, port = destination
        if host not in ("127.0.0.1", "localhost"):
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        try:
            self.forwards[chanid] = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            return OPEN_FAILED_CONNECT_FAILED
        self.server.forwards.append(destination)
        return OPEN_SUCCEEDED

    def run(self) -> None:
        try:
            self.transport.start_server(server=self)
        except (paramiko.SSHException, OSError, EOFError):
            return  # the client hung up during the handshake (say, refusing our host key)
        while True:
            channel = self.transport.accept()
            if channel is None:
                break
            sock = self.forwards.pop(channel.get_id(), None)
            if sock is not None:
                thread = threading.Thread(target=_forward, args=(channel, sock), daemon=True)
            else:
                self.command_queues.setdefault(channel.get_id(), queue.Queue())
                thread = threading.Thread(target=self.handle_client, args=(channel,), daemon=True)
            thread.start()

    def handle_client(self, channel: paramiko.Channel) -> None:
        try:
            command = self.command_queues[channel.get_id()].get(timeout=10)
        except queue.Empty:
            channel.close()
            return
        text = command.decode() if isinstance(command, bytes) else str(command)
        self.server.commands.append(text)
        process = subprocess.Popen(
            text,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdin and process.stdout and process.stderr
        pumps = [
            threading.Thread(target=_to_process, args=(channel, process.stdin), daemon=True),
            threading.Thread(
                target=_from_process, args=(process.stdout, channel.sendall), daemon=True
            ),
            threading.Thread(
                target=_from_process, args=(process.stderr, channel.sendall_stderr), daemon=True
            ),
        ]
        for pump in pumps:
            pump.start()
        while process.poll() is None:
            if channel.closed:
                os.killpg(process.pid, signal.SIGKILL)
            time.sleep(0.02)
        for pump in pumps[1:]:
            pump.join(5)
        try:
            # A killed command has no exit status, as with sshd (which sends exit-signal).
            if process.returncode >= 0:
                channel.send_exit_status(process.returncode)
            channel.close()
        except (EOFError, OSError, paramiko.SSHException):
            pass


def _to_process(channel: paramiko.Channel, stdin: Any) -> None:
    try:
        while data := channel.recv(32768):
            stdin.write(data)
            stdin.flush()
    except (OSError, EOFError):
        pass
    finally:
        with suppress(OSError):
            stdin.close()


def _from_process(stream: Any, send: Any) -> None:
    try:
        while data := os.read(stream.fileno(), 32768):
            send(data)
    except (OSError, EOFError, paramiko.SSHException):
        pass


def _forward(channel: paramiko.Channel, sock: socket.socket) -> None:
    def upstream() -> None:
        try:
            while data := channel.recv(32768):
                sock.sendall(data)
        except (OSError, EOFError):
            pass
        finally:
            sock.close()

    thread = threading.Thread(target=upstream, daemon=True)
    thread.start()
    try:
        while data := sock.recv(32768):
            channel.sendall(data)
    except (OSError, EOFError):
        pass
    finally:
        channel.close()


class MockServer(mockssh.Server):  # type: ignore[misc]
    """An in-process SSH server on 127.0.0.1 that records what clients did."""

    handler_cls = Handler

    def __init__(self, host_key: paramiko.PKey) -> None:
        super().__init__({})
        self.host_key = host_key
        self.commands: list[str] = []
        self.auth_attempts: list[str] = []
        self.forwards: list[tuple[str, int]] = []

    # mockssh's own accept loop uses the deprecated setDaemon() and races __exit__ (it selects
    # on the closed socket); this one stops cleanly and closes every session it started.
    def __enter__(self) -> MockServer:
        self._socket = socket.socket()
        self._socket.bind((self.host, 0))
        self._socket.listen(8)
        self._socket.settimeout(0.1)
        self._stop = threading.Event()
        self._handlers: list[Handler] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, addr = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            handler = self.handler_cls(self, (conn, addr))
            self._handlers.append(handler)
            threading.Thread(target=handler.run, daemon=True).start()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once
        self._thread.join(2)
        self._socket.close()
        for handler in self._handlers:
            handler.transport.close()

    def add_key_user(self, user: str, private_key: Path) -> None:
        self.add_user(user, str(private_key), keytype="ssh-ed25519")


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback port that accepts connections and never says anything (no SSH banner)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")

SSHD_CONFIG = """\
ListenAddress 127.0.0.1
Port {port}
HostKey {host_key}
PidFile none
AuthorizedKeysFile {authorized_keys}
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
LogLevel ERROR
"""


@contextmanager
def real_sshd(directory: Path, host_key_text: str, authorized_key: str) -> Iterator[int]:
    """Run OpenSSH's sshd on a free 127.0.0.1 port (as root); yield the port."""
    directory.mkdir(parents=True, exist_ok=True)
    # sshd refuses to start without its privilege-separation directory, which only exists on a
    # machine where the service has run once (systemd makes it): create it, as Debian's unit does.
    PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    host_key = directory / "ssh_host_ed25519_key"
    host_key.write_text(host_key_text)
    host_key.chmod(0o600)
    authorized = directory / "authorized_keys"
    authorized.write_text(authorized_key + "\n")
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(SSHD_CONFIG.format(port=port, host_key=host_key, authorized_keys=authorized))
    process = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    if probe.recv(4).startswith(b"SSH-"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"sshd did not start: {output}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(5)
        if process.stdout:
            process.stdout.close()
