"""The import's disk-size lines, run for real under several shells and parsed back: a qcow2
image's virtual size from its header, a raw image's size from the file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bsdprov.adopt.script import QCOW2_MAGIC, disks_script, parse_import
from tests.onhost.harness import SHELLS

pytestmark = pytest.mark.onhost

HEAD = "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nBSDPROV-PROBE-END\n"


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_disk_sizes_are_read_from_the_images(shell: list[str], tmp_path: Path) -> None:
    qcow2 = tmp_path / "web01.qcow2"
    header = QCOW2_MAGIC + bytes(20) + (20 * 1024**3).to_bytes(8, "big") + bytes(100)
    qcow2.write_bytes(header)
    raw = tmp_path / "db01.img"
    raw.write_bytes(bytes(3 * 1024 * 1024))
    vm_conf = tmp_path / "vm.conf"
    vm_conf.write_text(
        f'vm "web01" {{\n\tdisk "{qcow2}" format qcow2\n}}\n'
        f'vm "db01" {{\n\tdisk "{raw}" format raw\n\tdisk "{tmp_path}/gone.img"\n}}\n'
    )
    out = subprocess.run(
        shell, input=disks_script(str(vm_conf)).encode(), capture_output=True, check=True
    ).stdout
    _, sizes = parse_import(HEAD.encode() + out, "hv1")
    assert sizes == {str(qcow2): "20G", str(raw): "3M"}
