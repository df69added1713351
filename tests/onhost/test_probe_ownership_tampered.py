"""Attack on issue 13: the probe reads only the files a record line of its kind can name, so a
tampered record never sends a secret under /etc (master.passwd, a host key) to the
controller."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bsdprov.facts import parse_facts, probe_script
from tests.onhost.harness import SHELLS

pytestmark = pytest.mark.onhost


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_a_tampered_record_reads_no_secret(shell: list[str], tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    (etc / "ssh").mkdir(parents=True)
    (etc / "master.passwd").write_text("root:$2b$09$secrethash:0:0::0:0::/root:/bin/ksh\n")
    (etc / "ssh" / "ssh_host_ed25519_key").write_text("PRIVATE KEY\n")
    (etc / "rc.conf").write_text('ifconfig_gif0="up"\n')
    (etc / "sysctl.conf").write_text("net.inet.gre.allow=1\n")
    (etc / "hostname.gre0").write_text("up\n")
    record = tmp_path / "owned"
    record.write_text(
        f"var {etc}/master.passwd ifconfig_em0\n"
        f"line {etc}/ssh/ssh_host_ed25519_key - denyinterfaces x\n"
        f"file {etc}/master.passwd\n"
        f"word {etc}/sysctl.conf cloned_interfaces gif0\n"
        f"var {etc}/rc.conf ifconfig_gif0\n"
        f"line {etc}/sysctl.conf = net.inet.gre.allow\n"
        f"file {etc}/hostname.gre0\n"
    )
    script = probe_script([str(record)], record=str(record), record_under=str(etc))
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    assert b"secrethash" not in out and b"PRIVATE KEY" not in out
    lines = out.split(b"\n")
    lines[1] = b"uname FreeBSD 14.1-RELEASE amd64"
    facts = parse_facts(b"\n".join(lines), "h")
    assert set(facts.files) == {
        str(record),
        f"{etc}/rc.conf",
        f"{etc}/sysctl.conf",
        f"{etc}/hostname.gre0",
    }
