"""Facts about a host: the probe (one read-only sh script) and a pure parser of what it prints.

The script reports the OS (``uname``), every path the host's rendering manages (size, mode,
owner, then the exact bytes) and bsdprov's own state on the host: a run awaiting confirmation,
an interrupted run, the lock. Running it is the transport's job; building and parsing it is
pure, so both are tested here without a host.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from bsdprov.drift import BEGIN as DRIFT_BEGIN
from bsdprov.drift import END as DRIFT_END
from bsdprov.errors import ProbeError

# Where txn.sh keeps its runs and lock (its BASE); the run protocol (run.py) builds on it.
STATE_DIR = "/var/db/bsdprov"
BEGIN, END = "BSDPROV-PROBE 1", "BSDPROV-PROBE-END"
UNAME_OS = {"FreeBSD": "freebsd", "OpenBSD": "openbsd", "NetBSD": "netbsd"}
# The commands a run needs on the host besides the shell's builtins: remote/txn.sh's and the
# controller's start script's (keep in step with the list at the top of txn.sh). The probe
# names any the host lacks, so a run never starts to fail silently.
RUN_TOOLS = (
    *("awk", "cat", "chmod", "chown", "cksum", "cp", "cut", "date", "dd", "df", "grep", "head"),
    *("ls", "mkdir", "mv", "nohup", "rm", "sed", "sleep", "sync", "tail", "tr", "wc"),
)
# A managed file larger than this is refused rather than read: a plan holds each file in
# memory and diffs it (a 54 MB rc.conf took 44 s and 1.3 GB).
MAX_FILE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ObservedFile:
    """A file as the probe found it; ``content`` None means it does not exist."""

    path: str
    content: str | None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Live:
    """Running state the probe read before a run, which no file records."""

    hostname: str | None = None
    sysctls: tuple[tuple[str, str], ...] = ()
    pf_enabled: bool | None = None
    # The link-level address of each interface the inventory gives a MAC, before the run.
    macs: tuple[tuple[str, str], ...] = ()

    def sysctl(self, name: str) -> str | None:
        return next((value for key, value in self.sysctls if key == name), None)

    def mac(self, name: str) -> str | None:
        return next((value for key, value in self.macs if key == name), None)


@dataclass(frozen=True, slots=True)
class HostRun:
    """A run directory the probe found on the host; ``state`` is as the host wrote it."""

    run_id: str
    state: str
    alive: bool = False


@dataclass(frozen=True, slots=True)
class Facts:
    """What the probe found on one host."""

    os: str
    release: str
    machine: str
    files: dict[str, ObservedFile]
    runs: tuple[HostRun, ...]
    lock: str | None
    existing: frozenset[str] = frozenset()
    missing_tools: tuple[str, ...] = ()
    live: Live = Live()
    # The drift section's outputs (bsdprov/drift.py): command number, lines, exit status.
    drift: tuple[tuple[int, tuple[str, ...], int], ...] = ()


# The start of every script whose output ``parse_facts`` reads: a sane PATH, the header, the OS,
# and ``report FILE NAME``, which prints FILE's size, mode and owner under NAME, then its bytes
# (of a symbolic link: its target's, as a run writes through the link), or ``toolarge SIZE
# NAME`` past MAX_FILE_BYTES.
PROBE_PATH = (
    "/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/pkg/sbin:/usr/pkg/bin"
)
PROBE_HEAD = f"""PATH={PROBE_PATH}
LC_ALL=C
export PATH LC_ALL
report() {{
	# shellcheck disable=SC2046 # the fields of ls -ld are the words wanted
	set -- "$1" "$2" $(ls -ldL "$1")
	size=$(wc -c <"$1")
	size=${{size##* }}
	if [ "$size" -gt {MAX_FILE_BYTES} ]; then
		printf 'toolarge %s %s\\n' "$size" "$2"
		return
	fi
	printf 'file %s %s %s %s %s\\n' "$size" "$3" "$5" "$6" "$2"
	cat "$1"
	echo
}}
echo '{BEGIN}'
echo "uname $(uname -srm)"
"""


def probe_script(
    paths: Iterable[str],
    exists: Iterable[str] = (),
    globs: Iterable[str] = (),
    commands: Iterable[str] = (),
    sysctls: Iterable[str] = (),
    pf: bool = False,
    macs: Iterable[str] = (),
    drift: str = "",
    record: str | None = None,
    listed: Iterable[str] = (),
    record_under: str = "/etc",
) -> str:
    """The read-only script that reports uname, ``paths`` (and every file matching ``globs``)
    with their bytes, whether each of ``exists`` exists (disk images: never read), which of
    RUN_TOOLS and ``commands`` (the run's steps and checks) are missing, bsdprov's runs, and
    the running state a rollback puts back: the host name, the values of ``sysctls``, and
    with ``pf`` whether pf is enabled; ``drift`` is drift.live_section's part. With ``record``
    (bsdprov's ownership record), also every file under ``record_under`` the record names; each
    file matching ``listed`` is named as existing, never read."""
    paths = sorted(set(paths))
    quoted = " ".join(shlex.quote(p) for p in paths)
    # A glob's words stay unquoted so the shell expands them; the renderers' patterns are
    # fixed directory paths with one "*".
    patterns = " ".join(sorted(set(globs)))
    tools = " ".join(shlex.quote(t) for t in sorted({*RUN_TOOLS, *commands}))
    present = "".join(
        f"[ -e {q} ] && printf 'exists %s\\n' {q}\n"
        for q in (shlex.quote(p) for p in sorted(set(exists)))
    )
    # uname -n is kern.hostname, what hostname(1) prints; the probe already relies on uname.
    live = "printf 'live hostname %s\\n' \"$(uname -n)\"\n"
    live += "".join(
        f"printf 'live sysctl %s %s\\n' {q} \"$(sysctl -n {q} 2>/dev/null)\"\n"
        for q in (shlex.quote(n) for n in sorted(set(sysctls)))
    )
    # The link-level address line of ifconfig IF: OpenBSD "lladdr", FreeBSD "ether", NetBSD
    # "address:" (each ifconfig's status output).
    live += "".join(
        f"printf 'live mac %s %s\\n' {q} \"$(ifconfig {q} 2>/dev/null | awk "
        '\'$1 == "lladdr" || $1 == "ether" || $1 == "address:" { print $2; exit }\')"\n'
        for q in (shlex.quote(n) for n in sorted(set(macs)))
    )
    owned = ""
    if record is not None:
        # ownership.py: the files bsdprov wrote or edited, which the rendering may no longer
        # name; each once.
        q = shlex.quote(record)
        u = shlex.quote(record_under)
        managed = shlex.quote(" " + " ".join(sorted(set(paths))) + " ")
        owned = (
            f"managed={managed}\n"
            f"[ -f {q} ] && while read -r kind f _; do\n"
            "\tcase $kind in file | var | word | line) ;; *) continue ;; esac\n"
            '\t[ -f "$f" ] || continue\n'
            f"\tcase $f in *..* | *' '*) continue ;; esac\n"
            # Only the files a record line of that kind can name (ownership.EDITED):
            # never an admin's file or a secret, whatever a tampered record says.
            f"\tcase $kind:$f in file:{u}/hostname.* | file:{u}/ifconfig.* | "
            f"var:{u}/rc.conf | word:{u}/rc.conf | line:{u}/sysctl.conf | "
            f"line:{u}/dhcpcd.conf) ;; *) continue ;; esac\n"
            '\tcase $managed in *" $f "*) continue ;; esac\n'
            '\tmanaged="$managed$f "\n'
            '\treport "$f" "$f"\n'
            f"done <{q}\n"
        )
    owned += "".join(
        f'for f in {pattern}; do [ -e "$f" ] && printf \'exists %s\\n\' "$f"; done\n'
        for pattern in sorted(set(listed))
    )
    if pf:
        live += (
            "st=$(pfctl -s info 2>/dev/null | sed -n 's/^Status: \\([A-Za-z]*\\).*/\\1/p')\n"
            '[ -n "$st" ] && printf \'live pf %s\\n\' "$st"\n'
        )
    return (
        PROBE_HEAD
        + live
        + drift
        + f"""for f in {quoted} {patterns}; do
	if [ -f "$f" ]; then
		report "$f" "$f"
	elif [ -e "$f" ]; then
		printf 'other %s\\n' "$f"
	else
		case $f in *'*'*) continue ;; esac
		printf 'absent %s\\n' "$f"
	fi
done
{present}{owned}for t in {tools}; do
	command -v "$t" >/dev/null 2>&1 || printf 'missing %s\\n' "$t"
done
for d in {STATE_DIR}/runs/*; do
	[ -f "$d/state" ] || continue
	alive=dead
	# read, not cat: up to 20 runs are kept, and each cat was a process
	for f in "$d/pid" "$d/timer.pid"; do
		p=''
		{{ IFS= read -r p || :; }} 2>/dev/null <"$f"
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null || continue
		# A dead run's pid number may be another process's by now (txn.sh is_txn does the
		# same); where ps lacks -p (busybox), the live pid has to do.
		a=$(ps -ww -p "$p" -o args= 2>/dev/null) || a=txn.sh
		case $a in *txn.sh*) alive=alive ;; esac
	done
	st=''
	{{ IFS= read -r st || :; }} <"$d/state"
	printf 'run %s %s %s\\n' "${{d##*/}}" "$st" "$alive"
done
[ -f {STATE_DIR}/lock/run ] && printf 'lock %s\\n' "$(cat {STATE_DIR}/lock/run)"
echo '{END}'
"""
    )


def parse_mode(permissions: str) -> int:
    """``-rw-r-----`` (as ``ls -l`` prints it) to 0o640, special bits included."""
    if len(permissions) < 10:
        raise ProbeError(f"cannot read the permissions {permissions!r}")
    mode = 0
    for i, char in enumerate(permissions[1:10]):
        bit = 1 << (8 - i)
        if char in "rwxst":
            mode |= bit
        if char in "sStT":
            mode |= {2: 0o4000, 5: 0o2000, 8: 0o1000}.get(i, 0)
            if char in "ST":
                mode &= ~bit
    return mode


def parse_facts(output: bytes, host: str) -> Facts:
    """Parse the probe's output; anything unexpected is a ``ProbeError`` naming the host."""
    return parse_facts_and_rest(output, host)[0]


def parse_facts_and_rest(output: bytes, host: str) -> tuple[Facts, bytes]:
    """``parse_facts``, and what follows the probe's end line (another reply's part, which a
    file's bytes cannot be mistaken for: each file is read by its size)."""
    start = output.find(BEGIN.encode())
    if start < 0:
        raise ProbeError(f"host {host!r}: the probe printed no header; got {output[:200]!r}")
    data = output[start + len(BEGIN) + 1 :]
    files: dict[str, ObservedFile] = {}
    runs: list[HostRun] = []
    lock = None
    existing: set[str] = set()
    missing: list[str] = []
    uname: list[str] = []
    hostname: str | None = None
    sysctls: list[tuple[str, str]] = []
    pf: bool | None = None
    macs: list[tuple[str, str]] = []
    drift: list[tuple[int, tuple[str, ...], int]] = []
    while data:
        line, _, data = data.partition(b"\n")
        words = line.decode("utf-8", "replace").split(" ")
        kind = words[0]
        if kind == END:
            break
        if kind == "uname":
            uname = words[1:]
        elif kind == "file" and len(words) >= 6:
            if not words[1].isdecimal() or not words[1].isascii():
                raise ProbeError(f"host {host!r}: unexpected probe line {line[:120]!r}")
            size = int(words[1])
            path = " ".join(words[5:])
            if len(data) <= size:
                raise ProbeError(f"host {host!r}: the probe output was cut short in {path!r}")
            content, data = data[:size], data[size + 1 :]
            files[path] = ObservedFile(
                path,
                content.decode("utf-8", "surrogateescape"),
                parse_mode(words[2]),
                words[3],
                words[4],
            )
        elif kind == "absent":
            path = " ".join(words[1:])
            files[path] = ObservedFile(path, None)
        elif kind == "other":
            raise ProbeError(f"host {host!r}: {' '.join(words[1:])} exists but is not a file")
        elif kind == "run" and len(words) == 4:
            runs.append(HostRun(words[1], words[2], words[3] == "alive"))
        elif kind == "lock" and len(words) == 2:
            lock = words[1]
        elif kind == "toolarge" and len(words) >= 3 and words[1].isdigit():
            raise ProbeError(
                f"host {host!r}: {' '.join(words[2:])} is {int(words[1]) / 2**20:.1f} MiB "
                f"({words[1]} bytes); bsdprov reads managed files of at most "
                f"{MAX_FILE_BYTES // 2**20} MiB: shrink it (or move what it holds elsewhere)"
            )
        elif kind == "missing" and len(words) == 2:
            missing.append(words[1])
        elif kind == "live" and len(words) >= 3 and words[1] == "hostname":
            hostname = " ".join(words[2:]) or None
        elif kind == "live" and len(words) >= 4 and words[1] == "sysctl":
            if words[3]:
                sysctls.append((words[2], " ".join(words[3:])))
        elif kind == "live" and len(words) == 4 and words[1] == "mac":
            if re.fullmatch(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}", words[3]):
                macs.append((words[2], words[3].lower()))
        elif kind == "live" and len(words) == 3 and words[1] == "pf":
            pf = words[2] == "Enabled"
        elif kind == "exists":
            existing.add(" ".join(words[1:]))
        elif (
            kind == DRIFT_BEGIN and len(words) == 2 and words[1].isdecimal() and words[1].isascii()
        ):
            block, data = _drift_block(data, words[1], host)
            drift.append(block)
        else:
            raise ProbeError(f"host {host!r}: unexpected probe line {line[:120]!r}")
    else:
        raise ProbeError(f"host {host!r}: the probe output was cut short")
    if len(uname) != 3 or uname[0] not in UNAME_OS:
        raise ProbeError(
            f"host {host!r}: unsupported system {' '.join(uname)!r} "
            "(bsdprov manages FreeBSD, OpenBSD and NetBSD)"
        )
    facts = Facts(
        UNAME_OS[uname[0]],
        uname[1],
        uname[2],
        files,
        tuple(runs),
        lock,
        frozenset(existing),
        tuple(missing),
        Live(hostname, tuple(sysctls), pf, tuple(macs)),
        tuple(drift),
    )
    return facts, data


def _drift_block(
    data: bytes, number: str, host: str
) -> tuple[tuple[int, tuple[str, ...], int], bytes]:
    """One command's output from the drift section, up to its ``drift-end N STATUS`` line."""
    lines: list[str] = []
    while data:
        line, _, data = data.partition(b"\n")
        text = line.decode("utf-8", "replace")
        words = text.split(" ")
        if words[0] == DRIFT_END and len(words) == 3 and words[1] == number:
            if not words[2].isdecimal() or not words[2].isascii():
                break
            return (int(number), tuple(lines), int(words[2])), data
        lines.append(text)
    raise ProbeError(f"host {host!r}: the probe's live state output was cut short")
