"""The on-host run protocol, in one place: the states a run goes through, the run directory the
controller uploads, the scripts that drive ``remote/txn.sh``, and the parsers of its replies.

txn.sh is the other half of this protocol; ``tests/test_run_protocol.py`` checks that the states
it writes are ``RunState``'s. Pure: the run id, the user and the settings come in as arguments;
``build_run`` maps each relative path of the run directory to its bytes (reading ``txn.sh`` and
``lib/`` from the installed package).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from bsdprov.errors import ProbeError, UsageError
from bsdprov.facts import PROBE_HEAD, STATE_DIR, Facts, HostRun, parse_facts_and_rest
from bsdprov.outcome import RunRecord
from bsdprov.plan import Plan
from bsdprov.render.base import Step

REMOTE = resources.files("bsdprov") / "remote"

TXN = f"{STATE_DIR}/txn.sh"


# A run id names a directory that scripts remove with rm -rf. Quoting keeps any id out of the
# shell, but not out of the path: '' or '..' would reach every run's backup, or /var/db/bsdprov.
def run_dir(run_id: str) -> str:
    """The run's directory on the host; refuses an id that is not one path component."""
    if run_id in ("", ".", "..") or "/" in run_id:
        raise UsageError(f"{run_id!r} is not a run id such as 20261123T151733Z-e33f37")
    return f"{STATE_DIR}/runs/{run_id}"


class RunState(StrEnum):
    """A run's state, as txn.sh writes it to RUN/state (txn.sh's header lists the same)."""

    NONE = "none"  # no state recorded yet (txn.sh read_state)
    LOCKED = "locked"
    BACKED_UP = "backed-up"
    INSTALLED = "installed"
    ACTIVATING = "activating"
    AWAITING_CONFIRM = "awaiting-confirm"
    ROLLING_BACK = "rolling-back"
    # Final: txn.sh's FINAL.
    APPLIED = "applied"
    FAILED = "failed"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_FAILED = "rollback-failed"
    # Never written by txn.sh: a reply that named no state (the controller's word for it).
    UNKNOWN = "unknown"


FINAL_STATES = frozenset(
    {RunState.APPLIED, RunState.FAILED, RunState.ROLLED_BACK, RunState.ROLLBACK_FAILED}
)


def unfinished(runs: Iterable[HostRun]) -> tuple[HostRun, ...]:
    """Runs that started changing the host and have not reached a final state."""
    return tuple(r for r in runs if r.state not in FINAL_STATES)


# The form every run id is made in (tasks._run_id): UTC time, then six hex digits. An id given
# by a user (rollback --run) or read from a host must have it before it names a directory.
RUN_ID_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}")


@dataclass(frozen=True, slots=True)
class RunSettings:
    run_id: str
    user: str
    kind: str = "deploy"
    confirm_timeout: int = 120
    step_timeout: int = 120


def posix_cksum(data: bytes) -> str:
    """``CRC:SIZE`` as POSIX ``cksum`` computes it: how txn.sh fingerprints a file."""
    crc = 0

    def feed(byte: int) -> None:
        nonlocal crc
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF

    for byte in data:
        feed(byte)
    length = len(data)
    while length:
        feed(length & 0xFF)
        length >>= 8
    return f"{~crc & 0xFFFFFFFF}:{len(data)}"


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def fingerprint(content: str | None) -> str:
    return "absent" if content is None else posix_cksum(encode(content))


def step_lines(steps: Iterable[Step]) -> bytes:
    """One shell-quoted command per line; a leading ``- `` marks one that may fail."""
    return "".join(f"{'- ' if s.may_fail else ''}{shlex.join(s.argv)}\n" for s in steps).encode()


def build_run(plan: Plan, settings: RunSettings) -> dict[str, bytes]:
    """The files of one run: manifest, new contents, checks, steps, verify, the rollback's
    checks and steps, settings, tools."""
    run: dict[str, bytes] = {}
    manifest = []
    for n, change in enumerate(plan.changes, start=1):
        before = fingerprint(change.before.content)
        if change.after is None:
            manifest.append(f"remove - - - - {before} {change.path}\n")
            continue
        name = str(n)
        run[f"files/{name}"] = encode(change.after)
        manifest.append(
            f"put {name} {change.mode:o} {change.owner} {change.group} {before} {change.path}\n"
        )
    run["manifest"] = "".join(manifest).encode()
    # Two lines per thing to make first: the command, then its undo (txn.sh make_all).
    run["make"] = "".join(
        f"{shlex.join(made.argv)}\n{shlex.join(made.undo)}\n" for made in plan.makes
    ).encode()
    run["prepare"] = "".join(f"{shlex.join(step.argv)}\n" for step in plan.prepare).encode()
    run["checks"] = "".join(f"{shlex.join(step.argv)}\n" for step in plan.checks).encode()
    run["steps"] = step_lines(plan.steps)
    # The rollback's own, planned from the files it restores (rollback.py): txn.sh runs these
    # when this run is rolled back, by itself or by 'bsdprov rollback'.
    run["undo-checks"] = "".join(f"{shlex.join(s.argv)}\n" for s in plan.undo_checks).encode()
    run["undo-steps"] = step_lines(plan.undo_steps)
    run["verify"] = "".join(
        f"{shlex.join((check.expect, *check.argv))}\n" for check in plan.verify
    ).encode()
    run["settings"] = (
        f"confirm_timeout={settings.confirm_timeout}\nstep_timeout={settings.step_timeout}\n"
        f"user={settings.user}\nkind={settings.kind}\n"
    ).encode()
    run["txn.sh"] = (REMOTE / "txn.sh").read_bytes()
    for tool in (REMOTE / "lib").iterdir():
        run[f"lib/{tool.name}"] = tool.read_bytes()
    return run


# --- driving txn.sh: the scripts the controller runs, and their replies ---------------------


def clean_uploads_script(uploads: str, run_id: str) -> str:
    """Remove uploads a killed controller left (older than 2 minutes: a concurrent
    controller's fresh upload stays); -mindepth, -maxdepth and -mmin are in every BSD's find."""
    return (
        f"find {shlex.quote(uploads)} -mindepth 1 -maxdepth 1 -type d -mmin +2 "
        f"! -name {shlex.quote(run_id)} -exec rm -rf {{}} + 2>/dev/null || :\n"
    )


def start_script(uploads: str, run_id: str, wait: int) -> str:
    run = shlex.quote(run_dir(run_id))
    upload = shlex.quote(f"{uploads}/{run_id}")
    quoted_id = shlex.quote(run_id)
    # start exits once the run awaits its confirmation or is final, so waiting for it replaces
    # polling the state (which cost a busy host processes); nohup keeps it going if this
    # session drops, and txn.sh wait still reports (and polls, should start have been killed;
    # it returns at once when no process works on the run). start's stderr goes to a file, not
    # to this session, which may be cut by the very change it makes.
    return f"""set -e
umask 077
{clean_uploads_script(uploads, run_id)}mkdir -p {STATE_DIR}/runs
chmod 700 {STATE_DIR}
rm -rf {run}
if ! err=$(cp -R {upload} {run} 2>&1); then
	rm -rf {run} {upload}
	free=$(df -P -k {STATE_DIR} | awk 'NR == 2 {{ print $4 }}')
	if [ "${{free:-0}}" -lt 64 ]; then
		echo "start-error=no space left on {STATE_DIR} ($free KB free): cannot copy the run there"
	else
		printf 'start-error=cannot copy the run into {STATE_DIR}: %s\\n' "$err" | head -n 1
	fi
	exit 0
fi
rm -rf {upload}
started=0
nohup sh {run}/txn.sh start {quoted_id} </dev/null >/dev/null 2>{run}/start.err &
wait $! || started=$?
sh {run}/txn.sh wait {quoted_id} {wait}
echo "start-exit=$started"
[ ! -s {run}/start.err ] || sed 's/^/start-stderr=/' {run}/start.err | tail -n 3
printf 'state-dir-free=%s\\n' "$(df -P -k {STATE_DIR} | awk 'NR == 2 {{ print $4 }}')"
"""


def rollback_script(run_id: str, why: str) -> str:
    """Roll the run back now (if no one decided it yet) and report its state."""
    run = shlex.quote(run_dir(run_id))
    run_id = shlex.quote(run_id)
    return (
        f"sh {run}/txn.sh rollback {run_id} {shlex.quote(why)} >/dev/null 2>&1 || :\n"
        f"sh {run}/txn.sh wait {run_id} 0\n"
    )


@dataclass(frozen=True, slots=True)
class StartAnswer:
    """What the start script printed: txn.sh wait's report, then how start itself ended."""

    state: str
    reason: str
    journal: str
    alive: bool
    exit: int | None
    stderr: tuple[str, ...]
    error: str
    free_kb: int | None

    @property
    def exit_detail(self) -> str:
        said = "; ".join(self.stderr)
        if self.exit in (None, 0) and not said:
            return ""
        return f" (exit {self.exit}{': ' + said if said else ''})"

    @property
    def not_started(self) -> str:
        """Why txn.sh start never recorded a state, or "" when it did."""
        if self.error:
            return self.error
        if self.state not in (RunState.NONE, RunState.UNKNOWN):
            return ""
        said = f": {'; '.join(self.stderr)}" if self.stderr else ""
        if self.exit in (126, 127):
            return f"a command is missing on the host (exit {self.exit}){said}"
        if self.free_kb is not None and self.free_kb < 64:
            return f"no space left on {STATE_DIR} ({self.free_kb} KB free){said}"
        return f"txn.sh start recorded no state{self.exit_detail}; nothing was changed"


def parse_start(text: str) -> StartAnswer:
    """Read the start script's reply (txn.sh wait's ``state=``/``reason=``/``alive=`` lines,
    ``journal:`` and the journal, then start's own ``start-exit=`` etc.). ``state`` is the
    host's word: compare it with ``RunState``; no state at all is ``RunState.UNKNOWN``."""
    head, _, journal = text.partition("journal:\n")
    fields: dict[str, str] = {}
    stderr: list[str] = []
    lines = head.splitlines()
    # What follows the journal (start's own lines) is the script's, not the journal's.
    body, tail = journal, ""
    marker = journal.find("start-exit=")
    if marker >= 0:
        body, tail = journal[:marker], journal[marker:]
    for line in lines + tail.splitlines():
        key, _, value = line.partition("=")
        if key == "start-stderr":
            stderr.append(value)
        elif key:
            fields.setdefault(key, value)
    exit_text = fields.get("start-exit", "")
    free = fields.get("state-dir-free", "")
    return StartAnswer(
        fields.get("state") or RunState.UNKNOWN,
        fields.get("reason", ""),
        body,
        fields.get("alive") == "yes",
        int(exit_text) if exit_text.isdigit() else None,
        tuple(stderr),
        fields.get("start-error", ""),
        int(free) if free.isdigit() else None,
    )


def parse_state(answer: str) -> tuple[str, str, str]:
    """The state, reason and journal of a txn.sh state report (``state=``, ``reason=``...)."""
    parsed = parse_start(answer)
    return parsed.state, parsed.reason, parsed.journal


def backup_script(run_id: str) -> str:
    """Print a run's backup (as the probe prints files), its steps and checks, and the
    checks and steps planned for its rollback (runs from before they were planned have none)."""
    if not RUN_ID_RE.fullmatch(run_id):
        raise UsageError(f"{run_id!r} is not a run id such as 20261123T151733Z-e33f37")
    run = run_dir(run_id)
    return f"""[ -f {run}/backup/index ] || {{ echo 'BSDPROV-NO-RUN'; exit 0; }}
{PROBE_HEAD}while read -r presence n target; do
	if [ "$presence" = present ]; then
		report "{run}/backup/$n" "$target"
	else
		printf 'absent %s\\n' "$target"
	fi
done <{run}/backup/index
echo 'BSDPROV-PROBE-END'
echo 'steps:'
cat {run}/steps
echo 'checks:'
cat {run}/checks
if [ -f {run}/undo-steps ]; then
	echo 'undo-steps:'
	cat {run}/undo-steps
	echo 'undo-checks:'
	cat {run}/undo-checks
fi
"""


def parse_steps(text: str) -> tuple[Step, ...]:
    """A run's ``steps``/``checks`` file read back (``step_lines``' format)."""
    steps = []
    for line in text.splitlines():
        may_fail = line.startswith("- ")
        try:
            argv = tuple(shlex.split(line[2:] if may_fail else line))
        except ValueError as exc:
            raise ProbeError(f"the run's command {line[:120]!r} cannot be read: {exc}") from None
        if argv:
            steps.append(Step(argv, "as the rolled-back run did it", may_fail))
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class BackupReply:
    """A run's backup as ``backup_script`` printed it: the files it replaced (``backup.files``),
    its checks and steps, and those planned for its rollback (None from runs older than that)."""

    backup: Facts
    steps: tuple[Step, ...]
    checks: tuple[Step, ...]
    undo_steps: tuple[Step, ...] | None
    undo_checks: tuple[Step, ...] | None


NO_RUN = "BSDPROV-NO-RUN"


def parse_backup(answer: bytes, host: str) -> BackupReply | None:
    """Read ``backup_script``'s reply; None when the host has no such run with a backup."""
    if answer.startswith(NO_RUN.encode()):
        return None
    backup, rest = parse_facts_and_rest(answer, host)
    _, _, rest_text = rest.decode("utf-8", "surrogateescape").partition("steps:\n")
    steps_text, _, rest_text = rest_text.partition("checks:\n")
    checks_text, has_undo, rest_text = rest_text.partition("undo-steps:\n")
    undo_steps_text, _, undo_checks_text = rest_text.partition("undo-checks:\n")
    return BackupReply(
        backup,
        parse_steps(steps_text),
        parse_steps(checks_text),
        parse_steps(undo_steps_text) if has_undo else None,
        parse_steps(undo_checks_text) if has_undo else None,
    )


def confirm_script(run_id: str) -> str:
    """Confirm the run from a new connection (the proof access survived) and report its state."""
    return f"sh {TXN} confirm {shlex.quote(run_id)}\n"


def interrupted_rollback_script(run_id: str) -> str:
    """Roll back a run whose process died before it was decided."""
    txn = shlex.quote(f"{run_dir(run_id)}/txn.sh")
    return f"sh {txn} rollback {shlex.quote(run_id)} 'interrupted: no bsdprov process was left'\n"


def resume_script(run_id: str) -> str:
    """Redo what a rollback that failed half-way left (``txn.sh resume``)."""
    # The id comes from the host's reply: quoted like every host-supplied value.
    txn = shlex.quote(f"{run_dir(run_id)}/txn.sh")
    return f"sh {txn} resume {shlex.quote(run_id)}\n"


def parse_resume(answer: str) -> tuple[str, str, tuple[str, ...]]:
    """The state and reason ``txn.sh resume`` reports, and the steps still left to redo."""
    head, _, remaining = answer.partition("remaining:\n")
    state, reason, _ = parse_state(head)
    return state, reason, tuple(line for line in remaining.splitlines() if line.strip())


def history_script() -> str:
    return f"[ -f {TXN} ] && sh {TXN} history || true\n"


def parse_history(answer: str) -> list[RunRecord]:
    """``txn.sh history``'s tab-separated lines, oldest first; other lines are skipped."""
    records = []
    for line in answer.split("\n"):
        # The reason comes last and may hold tabs (a failed command's output, as ifconfig's
        # indented lines): it takes the rest of the line. Lines end at "\n" only, as txn.sh
        # prints them; splitlines() would also cut at the other line breaks a reason may hold.
        fields = line.split("\t", 6)
        if len(fields) == 7:
            run_id, state, started, user, kind, targets, reason = fields
            records.append(
                RunRecord(
                    run_id,
                    state,
                    started,
                    user,
                    kind,
                    tuple(t for t in targets.split(",") if t and t != "-"),
                    reason,
                )
            )
    return records
