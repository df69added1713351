"""What went wrong connecting, as one ``ConnectError`` with a cause a user can act on."""

from __future__ import annotations

import errno
import socket

import paramiko
from paramiko.ssh_exception import NoValidConnectionsError

from bsdprov.errors import ConnectCause, ConnectError
from bsdprov.ssh.config import Endpoint
from bsdprov.ssh.host_keys import HostKeyRefused, describe

# What connecting may raise: ``connect_error`` maps each to a message, never a traceback.
CONNECT_ERRORS = (OSError, EOFError, paramiko.SSHException)


def connect_error(endpoint: Endpoint, exc: BaseException, timeout: float) -> ConnectError:
    where, target = endpoint.where, endpoint.target
    cause: ConnectCause
    if isinstance(exc, HostKeyRefused):
        cause, what = "host-key", exc.text
    elif isinstance(exc, paramiko.BadHostKeyException):
        cause = "host-key"
        what = (
            f"host key mismatch: the server presents {describe(exc.key)}, expected "
            f"{describe(exc.expected_key)}"
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
