"""``python -m bench``: time bsdprov and its peers on the same lab hosts; write RESULTS.md.

Needs root on Linux (the lab) and PyPI once, for the peers' venvs. ``invoke bench`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import bsdprov
from bench import peers
from bench.runner import (
    HERE,
    BenchError,
    Lab,
    blocks,
    compile_package,
    run_block,
    write_project,
)
from bench.stats import Sample, merged, parse_results, render_results, summarise
from bsdprov.errors import BsdprovError
from bsdprov.lab.manager import down_lab

TOOLS = ("bsdprov", "pyinfra", "ansible", "fabric", "floor", "start")
WORK = Path("/var/lib/bsdprov-bench")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--hosts", default="10,50,100", help="host counts, e.g. 10,50,100,200")
    parser.add_argument("--reps", type=int, default=5, help="repetitions per host count")
    parser.add_argument("--tools", default=",".join(TOOLS), help="subset of " + ",".join(TOOLS))
    parser.add_argument(
        "--ansible-max-hosts",
        type=int,
        default=100,
        help="skip Ansible above this many hosts (it takes minutes there)",
    )
    parser.add_argument("--base-port", type=int, default=26001)
    parser.add_argument(
        "--work", type=Path, default=WORK, help=f"lab, projects and samples (default {WORK})"
    )
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render RESULTS.md from the last samples"
    )
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of --out this run did not measure (a partial run replaces its own)",
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = sorted({int(n) for n in args.hosts.split(",") if n.strip()})
    except ValueError:
        parser.error(f"--hosts: expected numbers separated by commas, got {args.hosts!r}")
    args.tool_list = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(args.tool_list) - set(TOOLS)
    if unknown or not args.sizes or min(args.sizes) < 1 or args.reps < 1:
        parser.error(f"bad --tools/--hosts/--reps (unknown tools: {sorted(unknown) or 'none'})")
    return args


def machine_line() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.partition(":")[2].strip()
            break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    return (
        f"{platform.machine()}, {cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM, "
        f"Linux {platform.release()}, Python {platform.python_version()}, {ssh}"
    )


def versions_line() -> str:
    import paramiko  # the floor's and bsdprov's

    pins = ", ".join(peers.REQUIREMENTS.values())
    return f"bsdprov (this tree), {pins}, paramiko {paramiko.__version__} (floor, bsdprov)"


def command_line(args: argparse.Namespace) -> str:
    line = f"invoke bench --hosts {','.join(map(str, args.sizes))} --reps {args.reps}"
    if args.tool_list != list(TOOLS):
        line += f" --tools {','.join(args.tool_list)}"
    if args.ansible_max_hosts != 100:
        line += f" --ansible-max-hosts {args.ansible_max_hosts}"
    return line


def save(path: Path, command: str, samples: list[Sample]) -> None:
    path.write_text(json.dumps({"command": command, "samples": [s.to_json() for s in samples]}))


def measure(args: argparse.Namespace, samples_file: Path) -> list[Sample]:
    for tool in ("pyinfra", "ansible", "fabric"):
        if tool in args.tool_list:
            print(f"bench: venv for {tool}: {peers.ensure_venv(tool)}", flush=True)
    compile_package(Path(bsdprov.__file__).parent)
    lab = Lab(args.work / "lab", args.base_port, python="ansible" in args.tool_list)
    samples: list[Sample] = []
    try:
        for size in args.sizes:
            started = time.monotonic()
            lab.up(size)
            project = write_project(lab, args.work / f"work-{size}")
            print(f"bench: {size} hosts up in {time.monotonic() - started:.1f} s", flush=True)
            tools = [
                t for t in args.tool_list if not (t == "ansible" and size > args.ansible_max_hosts)
            ]
            order = blocks(project, tools)
            for rep in range(args.reps):
                # Rotate the order: each tool runs first, middle and last in turn.
                shift = rep % len(order)
                for block in order[shift:] + order[:shift]:
                    got = run_block(lab, project, block)
                    for sample in got:
                        print(
                            f"bench: {size:>4} hosts rep {rep + 1}: {sample.variant:<15} "
                            f"{sample.run:<10} {sample.seconds:7.2f} s "
                            f"{sample.rss_mb:6.0f} MB",
                            flush=True,
                        )
                    samples += got
                    save(samples_file, command_line(args), samples)
    finally:
        if not args.keep:
            down_lab(lab_dir=lab.root)
    return samples


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    samples_file = args.work / "samples.json"
    try:
        if args.render_only:
            saved = json.loads(samples_file.read_text())
            command = saved["command"]
            samples = [Sample(**s) for s in saved["samples"]]
        else:
            args.work.mkdir(parents=True, exist_ok=True)
            command = command_line(args)
            samples = measure(args, samples_file)
    except (BenchError, BsdprovError, OSError, subprocess.CalledProcessError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except (ValueError, KeyError, TypeError) as exc:
        print(f"bench: {samples_file}: not samples of a bench run ({exc})", file=sys.stderr)
        return 1
    notes_file = HERE / "NOTES.md"
    notes = notes_file.read_text() if notes_file.is_file() else ""
    summaries = summarise(samples)
    if args.merge and args.out.is_file():
        earlier, earlier_command = parse_results(args.out.read_text())
        summaries = merged(earlier, summaries)
        merge = f"{command} --merge"
        # A re-render (--render-only --merge) of the same run names it once.
        command = (
            earlier_command
            if earlier_command.endswith(merge)
            else f"{earlier_command}`, then `{merge}"
        )
    text = render_results(summaries, machine_line(), versions_line(), notes, command)
    args.out.write_text(text)
    print(f"bench: wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
