"""Issue 11: --purge-disks deletes only disk images bsdprov itself created.

The disk creation (a run's prepare step) records the image's path in /var/db/bsdprov/disks; the
purge step deletes a path only when it is recorded there, then drops it from the record. Run as
txn.sh runs them (the rendered argv) under each POSIX shell, with a fake vmctl.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bsdprov.inventory import parse_inventory
from bsdprov.lifecycle import VmOptions, vm_changes
from bsdprov.render import render_host
from tests.onhost.harness import SHELLS

pytestmark = pytest.mark.onhost

INVENTORY = """
hosts:
  hv1:
    os: openbsd
    interfaces:
      em0: {addresses: [192.0.2.10/24]}
      bridge0: {members: [em0]}
    switches: {lan: bridge0}
  web01:
    os: openbsd
    vm:
      hypervisor: hv1
      disk: {path: /var/vmm/web01.qcow2, size: 20G}
      nics: [{switch: lan}]
"""
VMCTL = '#!/bin/sh\n[ "$1" = create ] && echo "image $3" >"$4"\n'
VM_CONF = 'vm "web01" {\n\tdisk "DISK" format qcow2\n}\n'


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vmctl").write_text(VMCTL)
    (bin_dir / "vmctl").chmod(0o755)
    root = tmp_path / "root"
    (root / "var/db/bsdprov").mkdir(parents=True)
    (root / "var/vmm").mkdir(parents=True)
    (root / "etc").mkdir()
    env = {**os.environ, "BSDPROV_ROOT": str(root), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return request.param, root, env


def run(shell: list[str], env: dict[str, str], argv: tuple[str, ...], root: Path) -> str:
    # The host's paths live under BSDPROV_ROOT here; on a host the argv is run as it is.
    argv = tuple(
        str(root) + a if a.startswith("/var/vmm/") or a.startswith("/etc/") else a for a in argv
    )
    assert argv[0] == "sh"
    done = subprocess.run([*shell, *argv[1:]], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def purge(disk: str) -> tuple[str, ...]:
    before = VM_CONF.replace("DISK", disk)
    (step,) = vm_changes(before, "", VmOptions(purge_disks=True)).last
    return step.argv


def test_a_created_disk_is_recorded_and_purged(
    host: tuple[list[str], Path, dict[str, str]],
) -> None:
    shell, root, env = host
    inventory = parse_inventory(INVENTORY, "inv.yaml")
    hv = render_host(inventory.hosts["hv1"], guests=inventory.guests("hv1"))
    (create,) = [c for c in hv.creates if c.path.endswith(".qcow2")]
    run(shell, env, create.argv, root)
    assert (root / "var/vmm/web01.qcow2").read_text() == "image 20G\n"
    record = root / "var/db/bsdprov/disks"
    # The record holds the host path, as the purge step will compare it.
    assert record.read_text() == f"{root}/var/vmm/web01.qcow2\n"

    run(shell, env, purge("/var/vmm/web01.qcow2"), root)
    assert not (root / "var/vmm/web01.qcow2").exists()
    assert record.read_text() == ""


def test_a_disk_bsdprov_did_not_create_is_kept(
    host: tuple[list[str], Path, dict[str, str]],
) -> None:
    shell, root, env = host
    victim = root / "etc/rc.conf"
    victim.write_text("keep me\n")
    (root / "var/db/bsdprov/disks").write_text(f"{root}/var/vmm/other.qcow2\n")
    out = run(shell, env, purge("/etc/rc.conf"), root)
    assert victim.read_text() == "keep me\n"
    assert out == f"kept {victim}: bsdprov did not create it (not in {root}/var/db/bsdprov/disks)\n"
    assert (root / "var/db/bsdprov/disks").read_text() == f"{root}/var/vmm/other.qcow2\n"


def test_with_no_record_nothing_is_deleted(host: tuple[list[str], Path, dict[str, str]]) -> None:
    shell, root, env = host
    image = root / "var/vmm/web01.qcow2"
    image.write_text("made by hand\n")
    run(shell, env, purge("/var/vmm/web01.qcow2"), root)
    assert image.read_text() == "made by hand\n"


@pytest.mark.parametrize("snippet", ["CREATE_DISK", "PURGE_DISK"])
def test_the_disk_snippets_are_shellcheck_clean(tmp_path: Path, snippet: str) -> None:
    from bsdprov.render import hypervisor

    script = tmp_path / "snippet.sh"
    script.write_text(f"#!/bin/sh\n{getattr(hypervisor, snippet)}\n")
    done = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
