"""The floor: per host, a paramiko connection (strict host key) and one ``uname -s``, in threads.

Usage: python paramiko_floor.py HOSTS.JSON PARALLEL [--probe]. With ``--probe`` the one exec
runs the host's bsdprov probe script (``/bin/sh -s``, the script on stdin, as bsdprov sends it)
instead of ``uname -s``, and prints the OS its ``uname`` line names. Exits 1 if any host failed.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko


def one(host: dict[str, object], key: str, known_hosts: str, probe: bool) -> str:
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
        if not probe:
            _, stdout, _ = client.exec_command("uname -s")
            return stdout.read().decode().strip()
        stdin, stdout, _ = client.exec_command("/bin/sh -s")
        stdin.write(str(host["probe"]))
        stdin.channel.shutdown_write()
        lines = stdout.read().decode(errors="replace").splitlines()
        if not lines or lines[-1] != "BSDPROV-PROBE-END":
            return "probe-failed"
        return next((line.split()[1] for line in lines if line.startswith("uname ")), "no-uname")
    finally:
        client.close()


def main() -> int:
    data = json.loads(Path(sys.argv[1]).read_text())
    probe = sys.argv[3:] == ["--probe"]
    with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
        answers = list(
            pool.map(lambda h: one(h, data["key"], data["known_hosts"], probe), data["hosts"])
        )
    print("\n".join(answers))
    return 0 if all(a == "OpenBSD" for a in answers) else 1


if __name__ == "__main__":
    sys.exit(main())
