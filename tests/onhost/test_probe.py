"""The facts probe, run for real under several shells, read back byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bsdprov.errors import ProbeError
from bsdprov.facts import parse_facts, parse_mode, probe_script
from bsdprov.run import unfinished
from tests.onhost.harness import SHELLS

pytestmark = pytest.mark.onhost


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_probe_reads_files_exactly(shell: list[str], tmp_path: Path) -> None:
    plain = tmp_path / "hostname.vio0"
    plain.write_text("inet 203.0.113.12 255.255.255.255\n")
    plain.chmod(0o640)
    no_newline = tmp_path / "mygate"
    no_newline.write_text("198.51.100.1")
    no_newline.chmod(0o600)
    empty = tmp_path / "empty"
    empty.write_text("")
    missing = tmp_path / "missing"
    script = probe_script([str(plain), str(no_newline), str(empty), str(missing)])
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    lines = out.split(b"\n")
    assert lines[1].startswith(b"uname Linux ")
    lines[1] = b"uname OpenBSD 7.6 amd64"
    facts = parse_facts(b"\n".join(lines), "h")
    assert (facts.os, facts.release, facts.machine) == ("openbsd", "7.6", "amd64")
    assert facts.files[str(plain)].content == plain.read_text()
    assert facts.files[str(plain)].mode == 0o640
    assert facts.files[str(plain)].owner == "root"
    assert facts.files[str(no_newline)].content == "198.51.100.1"
    assert facts.files[str(empty)].content == ""
    assert facts.files[str(missing)].content is None
    assert facts.runs == () and facts.lock is None


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_probe_reads_owned_patterns_and_never_reads_disks(shell: list[str], tmp_path: Path) -> None:
    anchors = tmp_path / "pf.vm"
    anchors.mkdir()
    (anchors / "web01.conf").write_text("pass out quick on web01_vm\n")
    (anchors / "notes.txt").write_text("not an anchor\n")
    disk = tmp_path / "web01.qcow2"
    disk.write_bytes(b"QFI\xfb" + b"\0" * 64)
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    script = probe_script(
        [],
        exists=[str(disk), str(tmp_path / "db01.qcow2")],
        globs=[f"{anchors}/*.conf", f"{empty_dir}/*.conf"],
    )
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    lines = out.split(b"\n")
    lines[1] = b"uname OpenBSD 7.6 amd64"
    facts = parse_facts(b"\n".join(lines), "h")
    assert set(facts.files) == {str(anchors / "web01.conf")}
    assert facts.existing == frozenset({str(disk)})
    assert b"QFI" not in out


def test_linux_is_refused_by_name() -> None:
    out = subprocess.run(["sh"], input=probe_script([]).encode(), capture_output=True).stdout
    with pytest.raises(ProbeError, match=r"^host 'h': unsupported system 'Linux .*'"):
        parse_facts(out, "h")


def test_cut_short_output_is_an_error() -> None:
    with pytest.raises(ProbeError, match="cut short"):
        parse_facts(b"BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n", "h")


def test_runs_and_lock_are_reported() -> None:
    out = (
        b"BSDPROV-PROBE 1\nuname FreeBSD 14.1-RELEASE amd64\nrun 20261123T1-ab applied dead\n"
        b"run 20261123T2-cd activating alive\nlock 20261123T2-cd\nBSDPROV-PROBE-END\n"
    )
    facts = parse_facts(out, "h")
    assert [r.run_id for r in unfinished(facts.runs)] == ["20261123T2-cd"]
    assert facts.lock == "20261123T2-cd"


@pytest.mark.parametrize(
    ("text", "mode"),
    [("-rw-r-----", 0o640), ("-rwsr-xr-x", 0o4755), ("drwxrwxrwt", 0o1777), ("-rw-r-S---", 0o2640)],
)
def test_parse_mode(text: str, mode: int) -> None:
    assert parse_mode(text) == mode
