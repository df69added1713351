"""ssh_config lookups parse only the sections that can apply, with paramiko's own results."""

from __future__ import annotations

from pathlib import Path

from paramiko.config import SSHConfig

from bsdprov.ssh.config import _lookup

CONFIG = """\
User everyone
Host lab01
  HostName 127.0.0.1
  Port 22001
Host lab02 lab03
  Port 22002
Host lab0* !lab03
  User bob
Host lab04 # a comment makes the section kept for every host
  Port 4
Host=lab05
  Port 5
Match host lab06
  Port 6
Host "lab07"
  Port 7
Host *
  ServerAliveInterval 5
"""


def test_lookup_matches_paramiko_on_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "ssh_config"
    path.write_text(CONFIG)
    whole = SSHConfig.from_text(CONFIG)
    for name in ("lab01", "lab02", "lab03", "lab04", "lab05", "lab06", "lab07", "other"):
        assert _lookup(path, name, name) == whole.lookup(name), name
