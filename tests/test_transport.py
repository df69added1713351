"""The SSH transport against an in-process SSH server on 127.0.0.1 (and a real sshd, integration).

Every test isolates HOME (no ~/.ssh of the machine, no ssh-agent) and touches only loopback.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import pytest

from bsdprov.errors import (
    ConnectError,
    ExitCode,
    RemoteCommandError,
    TransportError,
)
from bsdprov.model import Host
from bsdprov.session import CommandResult
from bsdprov.ssh.config import ConnectOptions, resolve
from bsdprov.ssh.host_keys import fingerprint, read_known_hosts
from bsdprov.ssh.transport import SSHTransport, connect, trust_host
from bsdprov.testing import FakeTransport, answer, timed_out
from tests.transport_helpers import (
    SSHD,
    MockServer,
    free_port,
    new_key,
    public_text,
    real_sshd,
    silent_listener,
    write_key,
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("BSDPROV_SSH_CONFIG", raising=False)
    return home


@dataclass
class Site:
    """One mock SSH server and the client side files that reach it."""

    server: MockServer
    port: int
    host_key: paramiko.PKey
    home: Path
    known_hosts: Path
    tmp: Path

    @property
    def key_name(self) -> str:
        return f"[127.0.0.1]:{self.port}"

    def host(self, name: str = "web01", **keys: Any) -> Host:
        fields = {"name": name, "address": "127.0.0.1", "port": self.port, "user": "alice"}
        return Host.model_validate({**fields, **keys})

    def options(self, **keys: Any) -> ConnectOptions:
        fields: dict[str, Any] = {"known_hosts": (str(self.known_hosts),), "connect_timeout": 5}
        return ConnectOptions(**{**fields, **keys})

    def trust(self, key: paramiko.PKey | None = None, name: str | None = None) -> None:
        line = f"{name or self.key_name} {public_text(key or self.host_key)}\n"
        with self.known_hosts.open("a") as file:
            file.write(line)

    def connect(self, host: Host | None = None, **options: Any) -> SSHTransport:
        host = host or self.host()
        return connect(host, {host.name: host}, self.options(**options))


def start_site(tmp: Path, home: Path) -> Iterator[Site]:
    host_key, _ = new_key()
    server = MockServer(host_key)
    # The default key paramiko looks for, so most tests need no IdentityFile.
    write_key(home / ".ssh" / "id_ed25519")
    server.add_key_user("alice", home / ".ssh" / "id_ed25519")
    with server:
        yield Site(server, server.port, host_key, home, tmp / "known_hosts", tmp)


@pytest.fixture
def site(tmp_path: Path, isolated_home: Path) -> Iterator[Site]:
    yield from start_site(tmp_path, isolated_home)


@pytest.fixture
def trusted(site: Site) -> Site:
    site.trust()
    return site


# --- running scripts ---------------------------------------------------------------------------


def test_exit_code_stdout_and_stderr_pass_through(trusted: Site) -> None:
    with trusted.connect() as session:
        result = session.run_script("echo out; echo err >&2; exit 3\n", check=False)
    assert result == CommandResult(b"out\n", b"err\n", 3)


def test_script_goes_on_stdin_to_bin_sh(trusted: Site) -> None:
    script = "x='a b'\nif [ -n \"$x\" ]; then\n  printf '%s|' $x\nfi\n"
    with trusted.connect() as session:
        result = session.run_script(script)
    assert result.stdout_text == "a|b|"
    assert trusted.server.commands == ["/bin/sh -s"], "the script never travels as the command"


def test_output_bytes_survive_decoding(trusted: Site) -> None:
    with trusted.connect() as session:
        result = session.run_script("printf 'caf\\351 \\303\\251\\n'\n")
    assert result.stdout == b"caf\xe9 \xc3\xa9\n"


def test_non_zero_exit_raises_with_the_last_ten_stderr_lines(trusted: Site) -> None:
    script = "i=1; while [ $i -le 15 ]; do echo line$i >&2; i=$((i+1)); done; exit 2\n"
    with trusted.connect() as session, pytest.raises(RemoteCommandError) as caught:
        session.run_script(script)
    error = caught.value
    assert error.status == 2 and error.host == "web01" and error.what == "/bin/sh -s"
    assert error.stderr_tail == tuple(f"line{i}" for i in range(6, 16))
    assert str(error).splitlines() == [
        f"host 'web01' (127.0.0.1:{trusted.port}): '/bin/sh -s' exited with status 2",
        *(f"  line{i}" for i in range(6, 16)),
    ]
    assert error.exit_code == ExitCode.FAILED


def test_timeout_raises_and_the_connection_stays_usable(trusted: Site) -> None:
    with trusted.connect() as session:
        started = time.monotonic()
        with pytest.raises(RemoteCommandError, match=r"did not finish within 0\.5 s") as caught:
            session.run_script("echo partial >&2; sleep 30\n", timeout=0.5)
        assert time.monotonic() - started < 5
        assert caught.value.status is None
        assert session.run_script("echo again\n").stdout_text == "again\n"


def test_become_doas_runs_the_shell_behind_doas_n(
    trusted: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    doas = bin_dir / "doas"
    doas.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$*" > "$0.args"\n[ "$1" = -n ] && shift\nexec "$@"\n'
    )
    doas.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with trusted.connect(trusted.host(become="doas")) as session:
        result = session.run_script("echo as-root\n")
    assert result.stdout_text == "as-root\n"
    assert (bin_dir / "doas.args").read_text() == "-n /bin/sh -s\n"
    assert trusted.server.commands[0].startswith("/bin/sh -c '")


def test_become_that_wants_a_password_is_a_clear_error_not_a_hang(
    trusted: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sudo = bin_dir / "sudo"
    sudo.write_text("#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n")
    sudo.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    with (
        trusted.connect(trusted.host(become="sudo")) as session,
        pytest.raises(RemoteCommandError) as caught,
    ):
        session.run_script("echo never\n", check=False, timeout=10)
    assert "sudo -n refused to start '/bin/sh -s' without a password" in str(caught.value)
    assert "NOPASSWD" in str(caught.value)
    assert caught.value.stderr_tail == ("sudo: a password is required",)


def test_become_tool_missing_is_reported(
    trusted: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with (
        trusted.connect(trusted.host(become="doas")) as session,
        pytest.raises(RemoteCommandError, match="doas is not installed"),
    ):
        session.run_script("echo never\n")


# --- SFTP --------------------------------------------------------------------------------------


def test_put_files_writes_contents_and_modes_in_one_session(trusted: Site, tmp_path: Path) -> None:
    target = tmp_path / "remote" / "runs" / "r1"
    files = {"manifest": b"one\n", "etc/rc.conf": b'ifconfig_em0="up"\n', "blob": bytes(range(256))}
    with trusted.connect() as session:
        session.put_files(files, str(target), mode=0o640)
        session.put_files({"extra": b"x"}, str(target))
        home = session.home()
        assert session.channels_opened == 1, "one SFTP session serves every upload"
    assert home.startswith("/")
    for name, content in files.items():
        assert (target / name).read_bytes() == content
        assert stat.S_IMODE((target / name).stat().st_mode) == 0o640
    assert stat.S_IMODE((target / "extra").stat().st_mode) == 0o600
    for directory in (tmp_path / "remote", target.parent, target, target / "etc"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_put_files_rejects_paths_that_escape(trusted: Site, tmp_path: Path) -> None:
    with trusted.connect() as session:
        for bad in ("../x", "/etc/passwd", "a//b"):
            with pytest.raises(ValueError):
                session.put_files({bad: b""}, str(tmp_path))


def test_put_files_onto_a_file_is_a_transport_error(trusted: Site, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with trusted.connect() as session, pytest.raises(TransportError, match="sftp: cannot write"):
        session.put_files({"a": b""}, str(tmp_path / "file" / "dir"))


def test_channels_opened_counts_round_trips(trusted: Site, tmp_path: Path) -> None:
    with trusted.connect() as session:
        session.run_script("true\n")
        session.run_script("true\n")
        session.put_files({"a": b"a"}, str(tmp_path / "up"))
        session.home()
        assert session.channels_opened == 3


# --- host keys ---------------------------------------------------------------------------------


def test_unknown_host_key_is_refused_before_authentication(site: Site) -> None:
    with pytest.raises(ConnectError) as caught:
        site.connect()
    error = caught.value
    assert error.cause == "host-key" and error.exit_code == ExitCode.UNREACHABLE
    assert str(error).startswith(f"host 'web01' (127.0.0.1:{site.port}): unknown host key ")
    assert fingerprint(site.host_key) in str(error)
    assert "bsdprov trust --host web01" in str(error)
    assert site.server.auth_attempts == [] and site.server.commands == []
    assert not site.known_hosts.exists()


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")
def test_fingerprint_is_what_openssh_prints(tmp_path: Path) -> None:
    key = write_key(tmp_path / "key")
    printed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "key.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert fingerprint(key) == printed


def test_pinned_key_is_enough_without_known_hosts(site: Site) -> None:
    host = site.host(host_key=public_text(site.host_key))
    with site.connect(host) as session:
        assert session.run_script("echo ok\n").stdout_text == "ok\n"
    assert not site.known_hosts.exists(), "a pinned key is not copied into known_hosts"


def test_pinned_key_mismatch_is_refused(site: Site) -> None:
    other, _ = new_key()
    with pytest.raises(ConnectError, match="the inventory pins") as caught:
        site.connect(site.host(host_key=public_text(other)))
    assert caught.value.cause == "host-key"
    assert "update host_key in the inventory" in str(caught.value)
    assert site.server.auth_attempts == []


def test_pinned_key_and_known_hosts_must_both_agree(site: Site) -> None:
    other, _ = new_key()
    site.trust(other)
    with pytest.raises(ConnectError, match="host key mismatch") as caught:
        site.connect(site.host(host_key=public_text(site.host_key)))
    assert str(site.known_hosts) in str(caught.value)


def test_known_hosts_right_but_pin_wrong_is_refused(trusted: Site) -> None:
    other, _ = new_key()
    with pytest.raises(ConnectError, match="the inventory pins"):
        trusted.connect(trusted.host(host_key=public_text(other)))


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_known_hosts_bracketed_port_entry_is_honoured(site: Site, hashed: bool) -> None:
    name = paramiko.HostKeys.hash_host(site.key_name) if hashed else site.key_name
    site.known_hosts.write_text(f"# comment\n\nother.example {public_text(new_key()[0])}\n")
    site.trust(name=name)
    with site.connect() as session:
        assert session.run_script("echo ok\n").stdout_text == "ok\n"


def test_known_hosts_mismatch_is_refused_with_how_to_fix(site: Site) -> None:
    old, _ = new_key()
    site.trust(old)
    with pytest.raises(ConnectError) as caught:
        site.connect()
    message = str(caught.value)
    assert caught.value.cause == "host-key"
    assert f"server presents {site.host_key.get_name()} key {fingerprint(site.host_key)}" in message
    assert f"ssh-keygen -R '{site.key_name}' -f {site.known_hosts}" in message
    assert site.server.auth_attempts == []


def test_revoked_key_is_refused(site: Site) -> None:
    site.known_hosts.write_text(f"@revoked * {public_text(site.host_key)}\n")
    with pytest.raises(ConnectError, match="marks as revoked"):
        site.connect(site.host(host_key=public_text(site.host_key)))


def test_accept_new_records_an_unknown_key(site: Site) -> None:
    with site.connect(accept_new=True) as session:
        session.run_script("true\n")
    assert site.known_hosts.read_text() == f"{site.key_name} {public_text(site.host_key)}\n"
    assert stat.S_IMODE(site.known_hosts.stat().st_mode) == 0o600
    site.connect().close()  # now known without accept_new


def test_accept_new_hashes_when_ssh_config_says_so(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    known = tmp_path / "kh" / "first"
    config.write_text(f"Host *\n  HashKnownHosts yes\n  UserKnownHostsFile {known} ~/second\n")
    host = site.host(ssh_config=str(config))
    connect(host, {"web01": host}, ConnectOptions(accept_new=True, connect_timeout=5)).close()
    entry, key_type, data = known.read_text().split()
    assert entry.startswith("|1|") and f"{key_type} {data}" == public_text(site.host_key)
    assert stat.S_IMODE(known.parent.stat().st_mode) == 0o700
    connect(host, {"web01": host}, ConnectOptions(connect_timeout=5)).close()


def test_accept_new_never_replaces_a_changed_key(site: Site) -> None:
    old, _ = new_key()
    site.trust(old)
    before = site.known_hosts.read_text()
    with pytest.raises(ConnectError, match="host key mismatch"):
        site.connect(accept_new=True)
    assert site.known_hosts.read_text() == before


def test_trust_host_records_and_returns_the_fingerprint(site: Site) -> None:
    host = site.host()
    answer = trust_host(host, {"web01": host}, site.options())
    assert answer == f"ssh-ed25519 {fingerprint(site.host_key)}"
    assert site.known_hosts.read_text() == f"{site.key_name} {public_text(site.host_key)}\n"
    assert site.server.auth_attempts == [], "trusting does not log in"
    assert trust_host(host, {"web01": host}, site.options()) == answer
    assert site.known_hosts.read_text().count("\n") == 1, "an already known key is not added twice"


def test_trust_host_refuses_when_another_key_is_recorded(site: Site) -> None:
    old, _ = new_key()
    site.trust(old)
    before = site.known_hosts.read_text()
    host = site.host()
    with pytest.raises(ConnectError, match="host key mismatch") as caught:
        trust_host(host, {"web01": host}, site.options())
    assert caught.value.cause == "host-key"
    assert site.known_hosts.read_text() == before


def test_known_hosts_patterns_negation_and_junk(tmp_path: Path) -> None:
    a, b, c = (new_key()[0] for _ in range(3))
    path = tmp_path / "known_hosts"
    path.write_text(
        f"*.example.org,!bad.example.org {public_text(a)}\n"
        f"not a key line\n"
        f"@cert-authority *.example.org {public_text(b)}\n"
        f"host?.example.org {public_text(c)}\n"
        f"h1.example.org ssh-ed25519 !!notbase64!!\n"
    )
    assert [k.key for k in read_known_hosts([path], "www.example.org").keys] == [a]
    assert read_known_hosts([path], "bad.example.org").keys == ()
    assert [k.key for k in read_known_hosts([path], "host1.example.org").keys] == [a, c]
    assert read_known_hosts([tmp_path / "missing"], "x").keys == ()


# --- connection failures -----------------------------------------------------------------------


def test_auth_failure_has_cause_auth(trusted: Site) -> None:
    with pytest.raises(ConnectError, match=r"authentication as 'mallory' failed") as caught:
        trusted.connect(trusted.host(user="mallory"))
    assert caught.value.cause == "auth"
    assert trusted.server.commands == []


def test_no_key_at_all_has_cause_auth(trusted: Site, isolated_home: Path) -> None:
    (isolated_home / ".ssh" / "id_ed25519").unlink()
    with pytest.raises(ConnectError) as caught:
        trusted.connect()
    assert caught.value.cause == "auth"


def test_encrypted_key_never_shows_its_passphrase(trusted: Site, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    secret = b"hunter2-passphrase"
    key = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "locked"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.BestAvailableEncryption(secret),
        )
    )
    path.chmod(0o600)
    config = tmp_path / "ssh_config"
    config.write_text(f"Host web01\n  IdentityFile {path}\n  IdentitiesOnly yes\n")
    with pytest.raises(ConnectError) as caught:
        trusted.connect(ssh_config=str(config))
    assert caught.value.cause == "auth"
    assert "hunter2" not in str(caught.value)


def test_connection_refused_has_cause_refused(site: Site) -> None:
    host = site.host(port=free_port())
    with pytest.raises(ConnectError, match="connection refused") as caught:
        site.connect(host)
    assert caught.value.cause == "refused"


def test_unresolvable_name_has_cause_dns(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def no_dns(name: str, *args: object, **kwargs: object) -> object:
        asked.append(name)  # never let a .invalid lookup reach a real resolver
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(ConnectError, match="cannot resolve 'web01.bsdprov.invalid'") as caught:
        site.connect(site.host(address="web01.bsdprov.invalid"))
    assert caught.value.cause == "dns"
    assert asked == ["web01.bsdprov.invalid"]


def test_silent_server_has_cause_timeout(site: Site) -> None:
    with silent_listener() as port:
        started = time.monotonic()
        with pytest.raises(ConnectError, match="no SSH answer within 0.5 s") as caught:
            site.connect(site.host(port=port), connect_timeout=0.5)
    assert caught.value.cause == "timeout"
    assert time.monotonic() - started < 5


# --- ssh_config and the inventory --------------------------------------------------------------


def test_ssh_config_hostname_port_user_identityfile(site: Site, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "carol"
    write_key(key)
    site.server.add_key_user("carol", key)
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host web01\n  HostName 127.0.0.1\n  Port {site.port}\n  User carol\n"
        f"  IdentityFile {key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {tmp_path}/kh_from_config\n"
    )
    (tmp_path / "kh_from_config").write_text(f"{site.key_name} {public_text(site.host_key)}\n")
    host = Host.model_validate({"name": "web01", "ssh_config": str(config)})
    with connect(host, {"web01": host}, ConnectOptions(connect_timeout=5)) as session:
        assert session.run_script("echo ok\n").stdout_text == "ok\n"
    assert site.server.auth_attempts == ["carol"]


def test_ssh_config_from_the_environment(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "env_config"
    config.write_text(f"Host web01\n  HostName 127.0.0.1\n  Port {site.port}\n  User alice\n")
    monkeypatch.setenv("BSDPROV_SSH_CONFIG", str(config))
    site.trust()
    host = Host.model_validate({"name": "web01"})
    with connect(host, {"web01": host}, site.options()) as session:
        assert session.run_script("echo ok\n").stdout_text == "ok\n"


def test_inventory_keys_beat_ssh_config(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host web01\n  HostName 192.0.2.1\n  Port 2\n  User nobody\n")
    endpoint = resolve(site.host(), {}, site.options(ssh_config=str(config)))
    assert (endpoint.hostname, endpoint.port, endpoint.user) == ("127.0.0.1", site.port, "alice")
    bare = Host.model_validate({"name": "web01"})
    endpoint = resolve(bare, {}, site.options(ssh_config=str(config)))
    assert (endpoint.hostname, endpoint.port, endpoint.user) == ("192.0.2.1", 2, "nobody")
    assert resolve(bare, {}, site.options()).user == "root", "the inventory default"


def test_missing_explicit_ssh_config_is_an_error(site: Site, tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="does not exist"):
        site.connect(ssh_config=str(tmp_path / "nope"))


def test_via_connects_through_the_jump_host(trusted: Site, tmp_path: Path) -> None:
    bastion = trusted.host("bastion")
    trusted.trust(name=trusted.key_name)  # same mock server plays both hosts
    web = trusted.host("web01", via="bastion")
    hosts = {"bastion": bastion, "web01": web}
    with connect(web, hosts, trusted.options()) as session:
        assert session.run_script("echo hop\n").stdout_text == "hop\n"
        assert session.jump is not None and session.jump.channels_opened == 1
        assert "via 'bastion'" in session.where
    assert trusted.server.forwards == [("127.0.0.1", trusted.port)]
    assert trusted.server.auth_attempts == ["alice", "alice"]


def test_ssh_config_proxyjump_reaches_an_inventory_host(trusted: Site, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host web01\n  ProxyJump bastion\n")
    bastion = trusted.host("bastion")
    web = trusted.host("web01", ssh_config=str(config))
    with connect(web, {"bastion": bastion, "web01": web}, trusted.options()) as session:
        assert session.run_script("echo hop\n").stdout_text == "hop\n"
    assert trusted.server.forwards == [("127.0.0.1", trusted.port)]


RELAY = """\
import os, socket, sys, threading
conn = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def upstream():
    while data := os.read(0, 65536):
        conn.sendall(data)
    conn.shutdown(socket.SHUT_WR)
threading.Thread(target=upstream, daemon=True).start()
while data := conn.recv(65536):
    os.write(1, data)
"""


def test_ssh_config_proxycommand(trusted: Site, tmp_path: Path) -> None:
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host web01\n  HostName 127.0.0.1\n  Port {trusted.port}\n  User alice\n"
        f"  ProxyCommand {sys.executable} {relay} %h %p\n"
    )
    host = Host.model_validate({"name": "web01", "ssh_config": str(config)})
    with connect(host, {"web01": host}, trusted.options()) as session:
        assert session.run_script("echo relayed\n").stdout_text == "relayed\n"


def test_jump_host_failure_names_both_hosts(site: Site) -> None:
    bastion = site.host("bastion", port=free_port())
    web = site.host("web01", via="bastion")
    with pytest.raises(ConnectError) as caught:
        connect(web, {"bastion": bastion, "web01": web}, site.options())
    assert str(caught.value).startswith("host 'web01': jump host 'bastion' (127.0.0.1:")
    assert caught.value.cause == "refused" and caught.value.host == "web01"


def test_jump_loop_is_refused(site: Site) -> None:
    a = site.host("a", via="b")
    b = site.host("b", via="a")
    with pytest.raises(ConnectError, match="loop: a -> b -> a"):
        connect(a, {"a": a, "b": b}, site.options())


def test_proxyjump_spec_with_user_and_port(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text("Host web01\n  ProxyJump ops@gw.example:2222,[2001:db8::1]:22\n")
    endpoint = resolve(Host.model_validate({"name": "web01"}), {}, ConnectOptions(str(config)))
    assert endpoint.jump is not None and endpoint.jump.jump is not None
    second, first = endpoint.jump, endpoint.jump.jump
    assert (first.hostname, first.port, first.user) == ("gw.example", 2222, "ops")
    assert (second.hostname, second.port) == ("2001:db8::1", 22)


# --- FakeTransport -----------------------------------------------------------------------------


def test_fake_transport_records_and_answers() -> None:
    fake = FakeTransport(
        [answer("a\n"), answer("", "boom\n", 1), timed_out("web01")],
        respond=lambda script: answer(script.upper()),
        host="web01",
    )
    assert fake.run_script("one").stdout_text == "a\n"
    with pytest.raises(RemoteCommandError) as caught:
        fake.run_script("two")
    assert caught.value.status == 1 and caught.value.stderr_tail == ("boom",)
    with pytest.raises(RemoteCommandError, match="did not finish"):
        fake.run_script("three", timeout=1)
    assert fake.run_script("four").stdout_text == "FOUR"
    fake.put_files({"f": b"x"}, "/tmp/run", mode=0o640)
    assert fake.scripts == ["one", "two", "three", "four"]
    assert fake.timeouts == [None, None, 1, None]
    assert [(u.directory, dict(u.files), u.mode) for u in fake.uploads] == [
        ("/tmp/run", {"f": b"x"}, 0o640)
    ]
    fake.close()
    with pytest.raises(AssertionError):
        fake.run_script("after close")


def test_fake_transport_without_answers_fails_loudly() -> None:
    with pytest.raises(AssertionError, match="no answer left"):
        FakeTransport().run_script("x")


# --- real OpenSSH sshd (integration) -----------------------------------------------------------

needs_sshd = pytest.mark.skipif(
    not SSHD.exists() or os.geteuid() != 0,
    reason="needs /usr/sbin/sshd (apt package openssh-server) and root",
)


@dataclass
class RealSite:
    port: int
    host_key: paramiko.PKey
    known_hosts: Path

    def host(self, name: str = "web01", **keys: Any) -> Host:
        fields = {"name": name, "address": "127.0.0.1", "port": self.port, "user": "root"}
        return Host.model_validate({**fields, **keys})

    def options(self, **keys: Any) -> ConnectOptions:
        fields: dict[str, Any] = {"known_hosts": (str(self.known_hosts),), "connect_timeout": 10}
        return ConnectOptions(**{**fields, **keys})


@pytest.fixture
def sshd(tmp_path: Path, isolated_home: Path) -> Iterator[RealSite]:
    host_key, host_key_text = new_key()
    client_key = write_key(isolated_home / ".ssh" / "id_ed25519")
    with real_sshd(tmp_path / "sshd", host_key_text, public_text(client_key)) as port:
        yield RealSite(port, host_key, tmp_path / "known_hosts")


@pytest.mark.integration
@needs_sshd
def test_real_sshd_end_to_end(sshd: RealSite, tmp_path: Path) -> None:
    host = sshd.host()
    hosts = {"web01": host}
    with pytest.raises(ConnectError, match="unknown host key"):
        connect(host, hosts, sshd.options())
    assert trust_host(host, hosts, sshd.options()) == f"ssh-ed25519 {fingerprint(sshd.host_key)}"
    with connect(host, hosts, sshd.options()) as session:
        result = session.run_script("echo out; echo err >&2; cat /dev/null; exit 4\n", check=False)
        assert result == CommandResult(b"out\n", b"err\n", 4)
        with pytest.raises(RemoteCommandError, match="did not finish"):
            session.run_script("sleep 30\n", timeout=0.5)
        assert session.home() == "/root"
        session.put_files({"a/b": b"payload"}, str(tmp_path / "upload" / "run"), mode=0o640)
        assert (tmp_path / "upload" / "run" / "a" / "b").read_bytes() == b"payload"
        assert stat.S_IMODE((tmp_path / "upload" / "run").stat().st_mode) == 0o700
        assert session.channels_opened == 3


@pytest.mark.integration
@needs_sshd
def test_real_sshd_via_jump_host_and_pinned_key(sshd: RealSite) -> None:
    pinned = public_text(sshd.host_key)
    bastion = sshd.host("bastion", host_key=pinned)
    web = sshd.host("web01", via="bastion", host_key=pinned)
    with connect(web, {"bastion": bastion, "web01": web}, sshd.options()) as session:
        assert session.run_script("echo through\n").stdout_text == "through\n"
        assert session.jump is not None and session.jump.channels_opened == 1


@pytest.mark.integration
@needs_sshd
def test_real_sshd_wrong_user_is_auth(sshd: RealSite) -> None:
    host = sshd.host(user="nobody", host_key=public_text(sshd.host_key))
    with pytest.raises(ConnectError) as caught:
        connect(host, {"web01": host}, sshd.options())
    assert caught.value.cause == "auth"
