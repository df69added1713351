"""The peer tools: their own virtual environments, and each one's project for the task.

The venvs live outside the repository (``/var/lib/bsdprov-bench/venvs``) and are never
project dependencies. Project files are generated per host count from the same host list
and the same wanted contents as bsdprov's inventory, so every tool does identical work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.task import IFACE, TARGET

VENVS = Path("/var/lib/bsdprov-bench/venvs")
# Pinned so a rerun measures the same releases; bump deliberately.
REQUIREMENTS = {
    "pyinfra": "pyinfra==3.10.0",
    "ansible": "ansible-core==2.19.14",
    "fabric": "fabric==3.2.3",
}


def ensure_venv(tool: str, python: str = sys.executable) -> Path:
    """The venv of ``tool`` with its pinned release, created (from PyPI) when missing."""
    venv = VENVS / tool
    stamp = venv / "bench-requirement"
    wanted = REQUIREMENTS[tool]
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return venv
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, wanted], check=True)
    stamp.write_text(wanted + "\n")
    return venv


@dataclass(frozen=True, slots=True)
class LabHost:
    name: str
    port: int


@dataclass(frozen=True, slots=True)
class Access:
    """How every tool reaches the lab: one client key, one known_hosts, one ssh_config."""

    key: Path
    known_hosts: Path
    ssh_config: Path


def write_hosts_json(
    path: Path,
    hosts: list[LabHost],
    access: Access,
    want: Mapping[str, str],
    probes: Mapping[str, str] | None = None,
) -> None:
    """The host list the Fabric and paramiko scripts read (with bsdprov's probe per host)."""
    data = {
        "key": str(access.key),
        "known_hosts": str(access.known_hosts),
        "hosts": [
            {"name": h.name, "port": h.port, "content": want[h.name]}
            | ({"probe": probes[h.name]} if probes else {})
            for h in hosts
        ],
    }
    path.write_text(json.dumps(data, indent=1) + "\n")


PYINFRA_DEPLOY = f"""\
# The bench task for pyinfra: a fact, a file, a command only if the file changed.
from io import StringIO

from pyinfra import host
from pyinfra.facts.server import Kernel
from pyinfra.operations import files, server

host.get_fact(Kernel)  # uname -s
config = files.put(
    name="{TARGET}",
    src=StringIO(host.data.hostname_vio0),
    dest="{TARGET}",
    mode="640",
)
server.shell(name="netstart", commands=["sh /etc/netstart {IFACE}"], _if=config.did_change)
"""


def write_pyinfra(
    directory: Path, hosts: list[LabHost], access: Access, want: Mapping[str, str]
) -> None:
    """inventory.py (paramiko ``ssh`` connector, strict host keys) and deploy.py."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for h in hosts:
        data = {
            "ssh_hostname": "127.0.0.1",
            "ssh_port": h.port,
            "ssh_user": "root",
            "ssh_key": str(access.key),
            "ssh_known_hosts_file": str(access.known_hosts),
            "ssh_strict_host_key_checking": "yes",
            "hostname_vio0": want[h.name],
        }
        entries.append(f"    ({h.name!r}, {data!r}),\n")
    (directory / "inventory.py").write_text("hosts = [\n" + "".join(entries) + "]\n")
    (directory / "deploy.py").write_text(PYINFRA_DEPLOY)


ANSIBLE_PLAYBOOK = f"""\
- hosts: all
  gather_facts: false
  tasks:
    - name: uname -s
      ansible.builtin.command: uname -s
      changed_when: false
    - name: {TARGET}
      ansible.builtin.copy:
        content: "{{{{ hostname_vio0 }}}}"
        dest: {TARGET}
        mode: "0640"
      register: config
    - name: netstart
      ansible.builtin.command: sh /etc/netstart {IFACE}
      when: config is changed
"""


def write_ansible(
    directory: Path, hosts: list[LabHost], access: Access, want: Mapping[str, str], forks: int
) -> None:
    """ansible.cfg (ssh, pipelining, ControlPersist, forks, no facts), inventory, playbook.

    The ControlPath directory is this project's own, so the bench can close the masters
    after each command and every command starts without a warm connection.
    """
    directory.mkdir(parents=True, exist_ok=True)
    control = directory / "cp"
    control.mkdir(exist_ok=True)
    (directory / "ansible.cfg").write_text(
        "[defaults]\n"
        f"inventory = {directory / 'inventory.yml'}\n"
        f"forks = {forks}\n"
        "gathering = explicit\n"
        "host_key_checking = True\n"
        "interpreter_python = /usr/local/bin/python3\n"
        "retry_files_enabled = False\n"
        "\n[ssh_connection]\n"
        "pipelining = True\n"
        f"ssh_args = -F {access.ssh_config} -o ControlMaster=auto -o ControlPersist=60s\n"
        f"control_path_dir = {control}\n"
    )
    inventory = {
        "all": {"hosts": {h.name: {"hostname_vio0": want[h.name]} for h in hosts}},
    }
    (directory / "inventory.yml").write_text(json.dumps(inventory, indent=1) + "\n")
    (directory / "playbook.yml").write_text(ANSIBLE_PLAYBOOK)
