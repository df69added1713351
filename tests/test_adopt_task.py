"""The ``import`` task in-process, over a fake transport: one read-only script, the entry on
stdout with what was not imported, ``--write`` keeping the inventory's comments, and usage
errors with exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

import bsdprov.ssh.transport
from bsdprov.adopt.script import import_script
from bsdprov.errors import ExitCode
from bsdprov.testing import FakeTransport, answer
from tests.test_tasks import run

PROBE = """BSDPROV-PROBE 1
uname FreeBSD 14.1-RELEASE amd64
file {size} -rw-r--r-- root wheel /etc/rc.conf
{rc}
absent /etc/mygate
BSDPROV-PROBE-END
"""
RC = (
    '# by hand\nhostname="new1.example.org"\n'
    'ifconfig_vtnet0="inet 192.0.2.50 netmask 255.255.255.0"\n'
    'ifconfig_vtnet1="inet 10.0.0.1/24 media 1000baseT"\n'
    'defaultrouter="192.0.2.1"\nsshd_enable="YES"\n'
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeTransport:
    output = PROBE.format(size=len(RC.encode()), rc=RC)
    transport = FakeTransport([answer(output)])
    monkeypatch.setattr(bsdprov.ssh.transport, "connect", lambda host, hosts, options: transport)
    return transport


def test_import_prints_the_entry_and_what_it_left(
    capsys: pytest.CaptureFixture[str], fake: FakeTransport, tmp_path: Path
) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("# my fleet\nhosts:\n  old1: {os: openbsd}  # keep me\n")
    code, out, err = run(
        capsys, "import", "--host", "new1", "--address", "192.0.2.50", "-i", str(inventory)
    )
    assert code == ExitCode.OK, err
    assert fake.scripts == [import_script()], "one exec: the read-only import script"
    assert "# not imported: /etc/rc.conf: line 4 'ifconfig_vtnet1=inet 10.0.0.1/24 media " in out
    assert "      vtnet0: {addresses: [192.0.2.50/24]}\n" in out
    assert "vtnet1" not in out.split("hosts:")[1]
    assert inventory.read_text().startswith("# my fleet\n"), "no --write: untouched"


def test_import_write_adds_the_host_and_keeps_the_file(
    capsys: pytest.CaptureFixture[str], fake: FakeTransport, tmp_path: Path
) -> None:
    inventory = tmp_path / "inventory.yaml"
    before = "# my fleet\nhosts:\n  old1: {os: openbsd}  # keep me\n"
    inventory.write_text(before)
    inventory.chmod(0o600)
    code, out, err = run(
        capsys,
        "import",
        "--host",
        "new1",
        "--address",
        "192.0.2.50",
        "-i",
        str(inventory),
        "--write",
    )
    assert code == ExitCode.OK, err
    text = inventory.read_text()
    assert text.startswith(before), text
    assert "  new1:\n    address: 192.0.2.50\n    os: freebsd\n" in text
    assert (tmp_path / "inventory.yaml.bak").read_text() == before
    assert inventory.stat().st_mode & 0o777 == 0o600
    run(capsys, "check", "-i", str(inventory))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "import needs --host NAME"),
        (("--host", "x", "--address", "1.2.3.999"), "'1.2.3.999' is not an IPv4 address"),
    ],
)
def test_import_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, "import", "-i", str(tmp_path / "none.yaml"), *argv)
    assert code == ExitCode.USAGE
    assert message in err
