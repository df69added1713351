"""The floor: per host, a paramiko connection (strict host key) and one ``uname -s``, in threads.

Usage: python paramiko_floor.py HOSTS.JSON PARALLEL. Exits 1 if any host failed.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko


def one(host: dict[str, object], key: str, known_hosts: str) -> str:
    client = paramiko.SSHClient()
    client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            "127.0.0.1",
            port=int(str(host["port"])),
            username="root",
            key_filename=key,
            look_for_keys=False,
            allow_agent=False,
        )
        _, stdout, _ = client.exec_command("uname -s")
        return stdout.read().decode().strip()
    finally:
        client.close()


def main() -> int:
    data = json.loads(Path(sys.argv[1]).read_text())
    with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
        answers = list(pool.map(lambda h: one(h, data["key"], data["known_hosts"]), data["hosts"]))
    print("\n".join(answers))
    return 0 if all(a == "OpenBSD" for a in answers) else 1


if __name__ == "__main__":
    sys.exit(main())
