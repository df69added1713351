"""The probe reads bsdprov's ownership record and the files it names, in its one exec, under
each shell; files matching ``listed`` are only named."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bsdprov.facts import parse_facts, probe_script
from tests.onhost.harness import SHELLS

pytestmark = pytest.mark.onhost


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_the_files_the_record_names_are_read_and_nothing_outside(
    shell: list[str], tmp_path: Path
) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    gone = etc / "hostname.gre0"  # no longer rendered, still bsdprov's
    gone.write_text("tunnel 198.18.0.1 198.51.100.9\n")
    kept = etc / "hostname.vio0"  # rendered: read once
    kept.write_text("inet 198.18.0.1 255.255.255.0\n")
    sysctl = etc / "sysctl.conf"  # edited: read once, however many lines are bsdprov's
    sysctl.write_text("net.inet.gre.allow=1\na.b=2\n")
    admin = etc / "hostname.em2"  # the admin's: named, never read
    admin.write_text("inet 10.1.1.1 255.255.255.0\n")
    secret = tmp_path / "secret"  # outside the allowed directory
    secret.write_text("do not read\n")
    record = tmp_path / "owned"
    record.write_text(
        "# bsdprov ownership record 1\n"
        f"file {gone}\nfile {kept}\nfile {secret}\nfile {etc}/../secret\n"
        f"file {etc}/hostname.missing0\ninterface gre0\n"
        f"line {etc}/sysctl.conf = net.inet.gre.allow\nline {etc}/sysctl.conf = a.b\n"
        f"var {kept} x\n"
    )
    script = probe_script(
        [str(kept), str(record)],
        record=str(record),
        listed=[f"{etc}/hostname.*", f"{tmp_path}/none/ifconfig.*"],
        record_under=str(etc),
    )
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    assert out.count(b"inet 198.18.0.1 255.255.255.0") == 1
    assert b"do not read" not in out and b"10.1.1.1" not in out
    lines = out.split(b"\n")
    lines[1] = b"uname OpenBSD 7.6 amd64"
    facts = parse_facts(b"\n".join(lines), "h")
    assert set(facts.files) == {str(gone), str(kept), str(record), str(sysctl)}
    assert out.count(b"net.inet.gre.allow=1") == 1
    assert facts.files[str(gone)].content == gone.read_text()
    assert facts.existing == frozenset({str(gone), str(kept), str(admin)})


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_no_record_reads_only_the_rendered_files(shell: list[str], tmp_path: Path) -> None:
    script = probe_script([], record=str(tmp_path / "owned"), record_under=str(tmp_path))
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    lines = out.split(b"\n")
    lines[1] = b"uname NetBSD 10.0 amd64"
    assert parse_facts(b"\n".join(lines), "h").files == {}


def test_the_probe_script_is_shellcheck_clean(tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    script = probe_script(
        ["/etc/hostname.vio0", "/etc/mygate"],
        record="/var/db/bsdprov/owned",
        listed=["/etc/hostname.*"],
    )
    path = tmp_path / "probe.sh"
    path.write_text(script)
    # SC2015: the runs loop's `[ ] && kill -0 || continue`, meant as written.
    result = subprocess.run(
        ["shellcheck", "-s", "sh", "-e", "SC2015", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
