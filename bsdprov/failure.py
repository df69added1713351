"""What went wrong on a failed or rolled-back host, in words (pure: an outcome in, lines out).

The host's transaction (remote/txn.sh) records why a run ended in one reason line, and each
command it ran in its journal as ``STAMP LABEL (exit RC): COMMAND`` followed by the command's
output (stdout and stderr together, ``    | `` indented, its last 20 lines). A sysadmin at 3 a.m.
needs neither the journal's route-flush noise nor its format: the command that failed, its exit
status, its output, and what the host did about it. The journal itself is one ``bsdprov log``
away.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bsdprov.outcome import Outcome
from bsdprov.plan import mask_secrets

_STEP = re.compile(r"step failed \(exit (\d+)\): (.*)", re.S)
_CHECK = re.compile(r"(prepare|check|rollback check) failed: (.*)", re.S)
_VERIFY = re.compile(r"verify failed: '(.*)' does not show /(.*)/", re.S)
_TIMER = re.compile(r"not confirmed within (\d+)s")
_CHANGED = re.compile(r"changed since plan: (\S+) \(planned (\S+), now (\S+)\)")
# One journal entry: its time stamp, what ran (step, check, prepare...), exit status, command.
_ENTRY = re.compile(r"\S+ (step|check|prepare|rollback check) \(exit (\d+)\): (.*)")
_OUTPUT = "    | "

WHAT = {
    "step": "activation command",
    "check": "OS check of the new files",
    "prepare": "preparation command",
    "rollback check": "check of the restored files",
}


@dataclass(frozen=True, slots=True)
class Failure:
    """The failing command (empty when the run did not fail at one), its exit status and
    output, and the cause in words."""

    what: str
    command: str
    exit_status: int | None
    output: tuple[str, ...]
    cause: str


def _entry(journal: str, label: str, rest: str) -> tuple[str, int, tuple[str, ...]] | None:
    """The journal's first failed ``label`` entry whose command begins ``rest`` (the reason
    names it, followed by the last lines of its output): command, exit status, output."""
    lines = journal.splitlines()
    for i, line in enumerate(lines):
        found = _ENTRY.fullmatch(line)
        if not found or found.group(1) != label or found.group(2) == "0":
            continue
        command = found.group(3)
        if rest != command and not rest.startswith(f"{command}: "):
            continue
        output = []
        for after in lines[i + 1 :]:
            if not after.startswith(_OUTPUT):
                break
            output.append(after[len(_OUTPUT) :])
        return command, int(found.group(2)), tuple(output)
    return None


def _aftermath(outcome: Outcome) -> str:
    if outcome.status == "rolled-back":
        return "the host put the old files back and re-ran their commands (rolled back)"
    return "the host left it as the reason says"


def explain(outcome: Outcome, login: str = "") -> Failure:
    """The failure of ``outcome`` in words; ``login`` (``user@address:port``) is where the
    confirming SSH login went, for a run the host's timer rolled back."""
    reason = outcome.reason
    journal = mask_secrets(outcome.journal)
    step = _STEP.match(reason)
    if step:
        rest = step.group(2)
        found = _entry(journal, "step", rest)
        command, output = (found[0], found[2]) if found else (rest, ())
        cause = f"an activation command failed, so {_aftermath(outcome)}"
        if outcome.status != "rolled-back":
            cause = f"an activation command failed: {reason}"
        return Failure(WHAT["step"], command, int(step.group(1)), output, cause)
    check = _CHECK.match(reason)
    if check:
        label, rest = check.group(1), check.group(2)
        found = _entry(journal, label, rest)
        command, output = (found[0], found[2]) if found else (rest.split(";")[0], ())
        status = found[1] if found else None
        if label == "rollback check":
            cause = "the restored files failed their check; they were activated all the same"
        else:
            cause = (
                f"the {WHAT[label]} failed before anything was activated: the old files are "
                "back, nothing on the host changed"
            )
        return Failure(WHAT[label], command, status, output, cause)
    verify = _VERIFY.match(reason)
    if verify:
        command, expect = verify.group(1), verify.group(2)
        return Failure(
            "check of the running system",
            command,
            None,
            (),
            f"after the activation, '{command}' did not show /{expect}/, so {_aftermath(outcome)}",
        )
    timer = _TIMER.match(reason)
    if timer:
        where = f" to {login}" if login else ""
        cause = (
            f"not confirmed: no new SSH login{where} got through within {timer.group(1)} s of "
            f"the timer's arming, so {_aftermath(outcome)}"
        )
        moved = _moved(outcome, login)
        return Failure("", "", None, (), cause + (f"; {moved}" if moved else ""))
    changed = _CHANGED.match(reason)
    if changed:
        return Failure(
            "",
            "",
            None,
            (),
            f"{changed.group(1)} changed on the host after the plan was made (someone edited "
            "it): nothing was changed; plan again and review the new diff",
        )
    return Failure("", "", None, (), reason)


def _moved(outcome: Outcome, login: str) -> str:
    """Which planned change took the login's address away, when one did: the likely cause."""
    address = login.rpartition("@")[2].rpartition(":")[0]
    if not address or outcome.plan is None:
        return ""
    for change in outcome.plan.changes:
        before = change.before.content or ""
        if address in before and address not in (change.after or ""):
            return f"the plan took {address} out of {change.path}"
    return ""


def failure_lines(outcome: Outcome, login: str = "") -> list[str]:
    """The block a report prints under a failed or rolled-back host (whose line shows the
    host's reason as it is); empty when the reason says it all."""
    failure = explain(outcome, login)
    if not failure.command and failure.cause == outcome.reason:
        return []
    out = []
    if failure.command:
        out.append(f"failed {failure.what}: {failure.command}")
        if failure.exit_status is not None:
            out.append(f"exit status {failure.exit_status}")
        if failure.output:
            out.append("its output (stdout and stderr):")
            out += [f"  | {line}" for line in failure.output]
        elif failure.exit_status is not None:
            out.append("its output: none")
    out.append(f"cause: {failure.cause}")
    if outcome.run_id:
        out.append(f"the whole journal: bsdprov log --host {outcome.host} --run {outcome.run_id}")
    return [mask_secrets(line) for line in out]
