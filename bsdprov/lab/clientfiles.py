"""What a client needs to reach the lab: ssh_config, known_hosts and the inventory.

Pure text builders (``render_*``) plus one writer, so the formats are testable without a lab.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from bsdprov.lab.state import HostRecord

LOOPBACK = "127.0.0.1"
_HEADER = "# Written by bsdprov's lab.up; rewritten on every lab.up and lab.reset.\n"


def _quote(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text


def render_ssh_config(hosts: Sequence[HostRecord], client_key: Path, known_hosts: Path) -> str:
    """One ``Host`` block per lab host: key-only root login with strict host-key checking."""
    blocks = [_HEADER]
    for host in hosts:
        blocks.append(
            f"Host {host.name}\n"
            f"    HostName {LOOPBACK}\n"
            f"    Port {host.port}\n"
            "    User root\n"
            f"    IdentityFile {_quote(client_key)}\n"
            "    IdentitiesOnly yes\n"
            f"    UserKnownHostsFile {_quote(known_hosts)}\n"
            # The machine's own known hosts may hold stale entries for these loopback ports.
            "    GlobalKnownHostsFile /dev/null\n"
            "    StrictHostKeyChecking yes\n"
            "    BatchMode yes\n"
            "    ConnectTimeout 10\n"
        )
    return "\n".join(blocks)


def render_known_hosts(hosts: Sequence[HostRecord], host_keys: dict[str, str]) -> str:
    """``[127.0.0.1]:PORT KEY`` lines: OpenSSH's form for a host on a non-standard port."""
    return "".join(f"[{LOOPBACK}]:{h.port} {host_keys[h.name]}\n" for h in hosts)


def render_inventory(
    hosts: Sequence[HostRecord], host_keys: dict[str, str], ssh_config: Path
) -> str:
    """The lab in the project's inventory format, describing each host's initial config."""
    entries = {}
    for host in hosts:
        spec = host.spec
        entries[host.name] = {
            "address": LOOPBACK,
            "port": host.port,
            "os": spec.os,
            "host_key": host_keys[host.name],
            "interfaces": {spec.interface: {"addresses": [str(spec.address)]}},
            "routes": [{"to": "default", "via": str(spec.gateway)}],
        }
    document = {
        "defaults": {"user": "root", "become": "none", "ssh_config": str(ssh_config)},
        "hosts": entries,
    }
    body = yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=200)
    return _HEADER + body


def write_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` atomically, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    tmp.replace(path)
