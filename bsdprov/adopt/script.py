"""The import's one read-only exec: the probe (uname, every network file bsdprov knows, with
mode and owner) and, after it, the size of each VM disk image vm.conf names.

A qcow2 image's virtual size is in its header (bytes 24-31, big-endian, after the magic
``QFI\\xfb``; QEMU's docs/interop/qcow2.txt); any other image is raw, and its size is the
file's. Pure: the script is text, and parsing its output is a function.
"""

from __future__ import annotations

from bsdprov.adopt import IMPORT_GLOBS, IMPORT_PATHS
from bsdprov.facts import END, Facts, parse_facts, probe_script
from bsdprov.render.hypervisor import VM_CONF

QCOW2_MAGIC = b"QFI\xfb"


def disks_script(vm_conf: str = VM_CONF) -> str:
    """For each disk line of ``vm_conf``: the image's byte count and its first 32 bytes."""
    return f"""[ -f {vm_conf} ] && sed -n 's/^[[:space:]]*disk "\\([^"]*\\)".*/\\1/p' {vm_conf} |
while IFS= read -r d; do
	[ -f "$d" ] || continue
	printf 'disk %s %s %s\\n' "$(wc -c <"$d" | tr -d ' ')" \\
		"$(od -An -tu1 -N32 "$d" | tr -s ' \\n' ',,' | sed 's/^,//; s/,$//')" "$d"
done
:
"""


def import_script() -> str:
    return probe_script(IMPORT_PATHS, globs=IMPORT_GLOBS) + disks_script()


def parse_import(output: bytes, host: str) -> tuple[Facts, dict[str, str]]:
    """The probe's facts, and each found disk image's size (``20G``, ``512M``)."""
    facts = parse_facts(output, host)
    sizes: dict[str, str] = {}
    tail = output[output.find(END.encode()) :].decode("utf-8", "replace")
    for line in tail.splitlines()[1:]:
        words = line.split(" ", 3)
        if len(words) != 4 or words[0] != "disk" or not words[1].isdigit():
            continue
        head = bytes(int(b) for b in words[2].split(",") if b.isdigit())
        size = int(words[1])
        if head[:4] == QCOW2_MAGIC and len(head) >= 32:
            size = int.from_bytes(head[24:32], "big")
        sizes[words[3]] = size_text(size)
    return facts, sizes


def size_text(size: int) -> str:
    """Bytes as vmd's unit: whole gigabytes as ``NG``, else megabytes rounded up."""
    mib = 1024 * 1024
    if size and size % (1024 * mib) == 0:
        return f"{size // (1024 * mib)}G"
    return f"{max(1, -(-size // mib))}M"
