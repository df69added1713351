"""Fabric minimal: per host one connection and one exec that does only the work, in threads.

The exec reads ``uname -s``, writes the config to a temporary file beside the target, and
moves it in and runs netstart only when the content differs. No facts, no diff, no backup,
no validation, no confirmation: the cost of the work and nothing else.

Usage: python fabric_minimal.py HOSTS.JSON PARALLEL. Exits 1 if any host failed.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
from fabric import Connection

SCRIPT = """uname -s
t=/etc/hostname.vio0.bench
cat >"$t" <<'BSDPROV_BENCH_EOF'
{content}BSDPROV_BENCH_EOF
chmod 0640 "$t"
if cmp -s "$t" /etc/hostname.vio0; then
	rm -f "$t"
	chmod 0640 /etc/hostname.vio0
else
	mv "$t" /etc/hostname.vio0
	sh /etc/netstart vio0
fi
"""


def one(host: dict[str, object], key: str, known_hosts: str) -> bool:
    cxn = Connection(
        "127.0.0.1",
        user="root",
        port=int(str(host["port"])),
        connect_kwargs={"key_filename": key, "look_for_keys": False, "allow_agent": False},
    )
    cxn.client.load_host_keys(known_hosts)
    cxn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with cxn:
        result = cxn.run(SCRIPT.format(content=host["content"]), hide=True, in_stream=False)
    return bool(result.ok and result.stdout.startswith("OpenBSD"))


def main() -> int:
    data = json.loads(Path(sys.argv[1]).read_text())
    with ThreadPoolExecutor(max_workers=int(sys.argv[2])) as pool:
        results = list(pool.map(lambda h: one(h, data["key"], data["known_hosts"]), data["hosts"]))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
