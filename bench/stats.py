"""Samples, their summaries, ratios, the targets of issues 6 and 12 and the rendered RESULTS.md.

Pure: samples in, text out. The runner stores samples as JSON, so the file can be
re-rendered without re-running (``python -m bench --render-only``).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

FLOOR = "paramiko floor"
PEERS = ("fabric minimal", "pyinfra", "ansible")
BSDPROV = ("bsdprov deploy", "bsdprov plan")
CHANGES, NO_CHANGE, READ = "changes", "no change", "uname only"
# The floor again, running the probe script a bsdprov plan runs on each host instead of
# ``uname -s``: what the hosts' own work costs a plan, whatever the controller does.
PROBE = "bsdprov's probe"
# Issue 12's start-up figures: a command that does no SSH at all, against the import that the
# paramiko floor (and every live bsdprov command) pays before its first connection.
START = "start-up"
VERSION, IMPORT_PARAMIKO = "bsdprov --version", "import paramiko"


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed command: a variant, a host count, which run, and what it cost."""

    variant: str
    hosts: int
    run: str  # CHANGES | NO_CHANGE | READ
    seconds: float
    rss_mb: float
    connections: float  # per host, from the hosts' sshd logs
    channels: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Summary:
    variant: str
    hosts: int
    run: str
    median: float
    low: float
    high: float
    rss_mb: float
    connections: float
    channels: float
    reps: int


def summarise(samples: Iterable[Sample]) -> list[Summary]:
    """One summary per (hosts, run, variant): median and range of seconds, peak RSS."""
    groups: dict[tuple[int, str, str], list[Sample]] = {}
    for sample in samples:
        groups.setdefault((sample.hosts, sample.run, sample.variant), []).append(sample)
    result = []
    for (hosts, run, variant), group in sorted(groups.items(), key=lambda kv: _order(*kv[0])):
        seconds = [s.seconds for s in group]
        result.append(
            Summary(
                variant,
                hosts,
                run,
                statistics.median(seconds),
                min(seconds),
                max(seconds),
                max(s.rss_mb for s in group),
                statistics.median(s.connections for s in group),
                statistics.median(s.channels for s in group),
                len(group),
            )
        )
    return result


_VARIANT_ORDER = (*BSDPROV, *PEERS, FLOOR, "openssh floor", VERSION, IMPORT_PARAMIKO)
_RUN_ORDER = (CHANGES, NO_CHANGE, READ, PROBE, START)


def _order(hosts: int, run: str, variant: str) -> tuple[int, int, int, str]:
    known = variant in _VARIANT_ORDER
    rank = _VARIANT_ORDER.index(variant) if known else len(_VARIANT_ORDER)
    return hosts, _RUN_ORDER.index(run) if run in _RUN_ORDER else 9, rank, variant


def find(summaries: Sequence[Summary], variant: str, hosts: int, run: str) -> Summary | None:
    return next(
        (s for s in summaries if (s.variant, s.hosts, s.run) == (variant, hosts, run)), None
    )


def floor_of(summaries: Sequence[Summary], hosts: int) -> Summary | None:
    return find(summaries, FLOOR, hosts, READ)


@dataclass(frozen=True, slots=True)
class Target:
    what: str
    met: bool | None  # None: not measured
    detail: str


def _ratio(a: Summary | None, b: Summary | None) -> float | None:
    return a.median / b.median if a and b and b.median else None


def _fmt(value: float | None, unit: str = "×") -> str:
    return "n/a" if value is None else f"{value:.2f}{unit}"


def targets(summaries: Sequence[Summary], at: int = 50) -> list[Target]:
    """Issue 6's targets, judged on medians measured in the same run."""
    found: list[Target] = []
    floor = floor_of(summaries, at)
    for variant in BSDPROV:
        mine = find(summaries, variant, at, NO_CHANGE)
        ratio = _ratio(mine, floor)
        found.append(
            Target(
                f"{variant}, no change, {at} hosts: ≤ 1.5× the paramiko floor",
                None if ratio is None else ratio <= 1.5,
                _fmt(ratio),
            )
        )
        pyinfra = find(summaries, "pyinfra", at, NO_CHANGE)
        ratio = _ratio(mine, pyinfra)
        found.append(
            Target(
                f"{variant}, no change, {at} hosts: faster than pyinfra",
                None if ratio is None else ratio < 1,
                f"{_fmt(ratio)} pyinfra's time",
            )
        )
    deploy = find(summaries, "bsdprov deploy", at, CHANGES)
    ratio = _ratio(deploy, find(summaries, "pyinfra", at, CHANGES))
    found.append(
        Target(
            f"bsdprov deploy, changes, {at} hosts: no slower than pyinfra",
            None if ratio is None else ratio <= 1,
            f"{_fmt(ratio)} pyinfra's time",
        )
    )
    ratio = _ratio(find(summaries, "ansible", at, CHANGES), deploy)
    found.append(
        Target(
            f"bsdprov deploy, changes, {at} hosts: ≥ 8× faster than Ansible",
            None if ratio is None else ratio >= 8,
            f"Ansible takes {_fmt(ratio)} as long",
        )
    )
    found.extend(_scaling(summaries))
    peak = max((s.rss_mb for s in summaries if s.variant in BSDPROV), default=None)
    found.append(
        Target(
            "bsdprov controller memory < 300 MB at every size",
            None if peak is None else peak < 300,
            _fmt(peak, " MB"),
        )
    )
    return found


def startup_targets(summaries: Sequence[Summary], at: int = 20) -> list[Target]:
    """Issue 12's targets, judged on medians measured in the same run."""
    plan = find(summaries, "bsdprov plan", at, NO_CHANGE)
    ratio = _ratio(plan, floor_of(summaries, at))
    found = [
        Target(
            f"bsdprov plan, no change, {at} hosts: ≤ 1.5× the paramiko floor "
            "(interpreter start included in both)",
            None if ratio is None else ratio <= 1.5,
            _fmt(ratio),
        )
    ]
    version = find(summaries, VERSION, at, START)
    ratio = _ratio(version, find(summaries, IMPORT_PARAMIKO, at, START))
    found.append(
        Target(
            "`bsdprov --version`: ≤ 0.5× the time of `python -c 'import paramiko'`",
            None if ratio is None else ratio <= 0.5,
            _fmt(ratio) + (f" ({version.median:.3f} s)" if version is not None else ""),
        )
    )
    return found


def probe_share(summaries: Sequence[Summary], at: int = 20) -> str | None:
    """Not a target: how much of a no-change plan's time the hosts' own work (the probe) takes."""
    floor, probe = floor_of(summaries, at), find(summaries, FLOOR, at, PROBE)
    plan = find(summaries, "bsdprov plan", at, NO_CHANGE)
    if probe is None or floor is None:
        return None
    return (
        f"For reference (not a target): the paramiko floor running bsdprov's probe instead of "
        f"`uname -s`, {at} hosts, takes {_fmt(_ratio(probe, floor))} the floor's time; "
        f"bsdprov plan takes {_fmt(_ratio(plan, probe))} that"
    )


def _scaling(summaries: Sequence[Summary]) -> list[Target]:
    """Time per host at the largest size is no worse than at 100 hosts (linear or better)."""
    found = []
    sizes = sorted({s.hosts for s in summaries if s.hosts >= 100})
    for variant in BSDPROV:
        for run in (CHANGES, NO_CHANGE):
            points = [(n, find(summaries, variant, n, run)) for n in sizes]
            measured = [(n, s) for n, s in points if s is not None]
            if len(measured) < 2:
                continue
            (n0, first), (n1, last) = measured[0], measured[-1]
            growth = (last.median / first.median) / (n1 / n0)
            found.append(
                Target(
                    f"{variant}, {run}: time grows no worse than linearly ({n0} → {n1} hosts)",
                    growth <= 1.0,
                    f"{first.median:.2f} s → {last.median:.2f} s ({growth:.2f} of linear)",
                )
            )
    return found


def render_results(
    summaries: Sequence[Summary], machine: str, versions: str, notes: str, command: str
) -> str:
    """RESULTS.md: the machine, the table per host count, ratios, targets, then ``notes``."""
    lines = [
        "# Benchmarks: bsdprov, pyinfra, Ansible, Fabric and the SSH floor on the same lab hosts",
        "",
        f"Generated by `{command}`; do not edit by hand (notes come from `bench/NOTES.md`).",
        "",
        f"Machine: {machine}  ",
        f"Tools: {versions}",
        "",
        "The task, on OpenBSD lab hosts: read `uname -s`; make `/etc/hostname.vio0` hold the "
        "host's config (its management address, a /32 and an on-link route to an off-subnet "
        "gateway) with mode 0640; run `sh /etc/netstart vio0` only if the file changed. Run "
        "*changes* is on freshly reset hosts, run *no change* right after it. After each run "
        "the bench checks every host (content, mode, netstart ran once / not at all, `uname -s` "
        "read); a run that fails the check gets no time. Tools alternate within each "
        "repetition. Seconds are wall time of the whole command (median, min–max); RSS is the "
        "peak of the largest controller process; connections and channels per host are "
        "counted in the hosts' sshd logs.",
        "",
    ]
    for hosts in sorted({s.hosts for s in summaries}):
        floor = floor_of(summaries, hosts)
        lines += [
            f"## {hosts} hosts",
            "",
            "| variant | run | median s | min–max s | × floor | peak RSS MB | conns/host "
            "| channels/host | reps |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in (s for s in summaries if s.hosts == hosts):
            lines.append(
                f"| {s.variant} | {s.run} | {s.median:.2f} | {s.low:.2f}–{s.high:.2f} "
                f"| {_fmt(_ratio(s, floor))} | {s.rss_mb:.0f} | {s.connections:g} "
                f"| {s.channels:g} | {s.reps} |"
            )
        lines += ["", *_ratio_table(summaries, hosts), ""]
    lines += ["## Targets (issue 6)", ""]
    for target in targets(summaries):
        mark = {True: "met", False: "**not met**", None: "not measured"}[target.met]
        lines.append(f"- {target.what}: {mark} ({target.detail})")
    lines += ["", "## Targets (issue 12: start-up)", ""]
    for target in startup_targets(summaries):
        mark = {True: "met", False: "**not met**", None: "not measured"}[target.met]
        lines.append(f"- {target.what}: {mark} ({target.detail})")
    share = probe_share(summaries)
    if share is not None:
        lines.append(f"- {share}")
    lines += ["", notes.strip(), ""]
    return "\n".join(lines)


_ROW = re.compile(
    r"\| (?P<variant>[^|]+?) \| (?P<run>[^|]+?) \| (?P<median>[\d.]+) "
    r"\| (?P<low>[\d.]+)–(?P<high>[\d.]+) \| [^|]* \| (?P<rss>[\d.]+) "
    r"\| (?P<conns>[\d.]+) \| (?P<channels>[\d.]+) \| (?P<reps>\d+) \|$"
)
_GENERATED = re.compile(r"^Generated by `(.*)`; do not edit by hand", re.M)


def parse_results(text: str) -> tuple[list[Summary], str]:
    """The summaries and the command line of a RESULTS.md this module rendered, so a partial
    run (``--merge``) can replace its own rows and keep the others'."""
    summaries = []
    hosts = 0
    for line in text.splitlines():
        if line.startswith("## ") and line.endswith(" hosts") and line[3:-6].isdigit():
            hosts = int(line[3:-6])
        elif hosts and (row := _ROW.match(line)):
            summaries.append(
                Summary(
                    row["variant"],
                    hosts,
                    row["run"],
                    float(row["median"]),
                    float(row["low"]),
                    float(row["high"]),
                    float(row["rss"]),
                    float(row["conns"]),
                    float(row["channels"]),
                    int(row["reps"]),
                )
            )
    found = _GENERATED.search(text)
    return summaries, found.group(1) if found else "an earlier run"


def merged(old: Iterable[Summary], new: Iterable[Summary]) -> list[Summary]:
    """``old`` with each row ``new`` measured again replaced, in the table order."""
    rows = {(s.hosts, s.run, s.variant): s for s in old}
    rows.update({(s.hosts, s.run, s.variant): s for s in new})
    return [rows[key] for key in sorted(rows, key=lambda key: _order(*key))]


def _ratio_table(summaries: Sequence[Summary], hosts: int) -> list[str]:
    """Each peer's median over bsdprov's, same host count and run: > 1 means bsdprov is faster."""
    lines = [
        "Peer time ÷ bsdprov time (> 1: bsdprov is faster):",
        "",
        "| bsdprov | run | " + " | ".join(PEERS) + " |",
        "|---|---|" + "---:|" * len(PEERS),
    ]
    for variant in BSDPROV:
        for run in (CHANGES, NO_CHANGE):
            mine = find(summaries, variant, hosts, run)
            if mine is None:
                continue
            cells = [_fmt(_ratio(find(summaries, peer, hosts, run), mine)) for peer in PEERS]
            lines.append(f"| {variant} | {run} | " + " | ".join(cells) + " |")
    return lines
