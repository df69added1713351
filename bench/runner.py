"""Bring up the lab, run every tool's commands in turn, time them and check every host.

Each tool is a block of timed steps (run *changes* on freshly reset hosts, then *no change*);
the blocks of one repetition go in an order that rotates from one repetition to the next, so
drift of the machine hits every tool alike. A step whose hosts fail the check gets no time.
"""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import peers
from bench.stats import (
    CHANGES,
    FLOOR,
    IMPORT_PARAMIKO,
    NO_CHANGE,
    PROBE,
    READ,
    START,
    VERSION,
    Sample,
)
from bench.task import (
    TARGET,
    Observed,
    bench_inventory,
    check_host,
    desired_contents,
    probe_scripts,
    sshd_counts,
)
from bsdprov.lab.manager import reset_lab, up_lab
from bsdprov.lab.paths import LabPaths

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts"
GNU_TIME = "/usr/bin/time"
# Seconds the hosts get after a step that changed them, before the next step is timed: a run's
# on-host transaction finishes its bookkeeping after the command has returned, and the floors
# are always timed on idle hosts, so a tool's *no change* run should be too.
SETTLE_S = 2.0


class BenchError(Exception):
    """A step failed or did not do the work; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Step:
    variant: str
    run: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True, slots=True)
class Block:
    """One tool's steps; ``resets`` when its first step must find freshly reset hosts."""

    tool: str
    steps: tuple[Step, ...]
    resets: bool
    after_step: Callable[[], None] | None = None


@dataclass(frozen=True, slots=True)
class Timed:
    seconds: float
    rss_mb: float
    returncode: int
    output: str


def compile_package(package: Path) -> None:
    """Write the bytecode of every module under ``package``, as installing it would.

    pip compiles a package's modules when it installs it, so the peers and the floor's
    paramiko start from bytecode. This tree is an editable install, compiled by the
    interpreter on first import, unless ``PYTHONDONTWRITEBYTECODE`` is set (as on the bench's
    machine): then every timed bsdprov command compiled its 60 modules from source again,
    about 0.1 s of CPU a user's installed bsdprov never pays.
    """
    if not compileall.compile_dir(package, quiet=1):
        raise BenchError(f"cannot compile the modules under {package}")


def run_timed(step: Step) -> Timed:
    """Run ``step`` to its end: wall seconds, and the peak RSS of its largest process.

    GNU time measures the RSS: a child forked from this (large) Python would report this
    process's pages as its own, so the command must be forked from a small process.
    """
    if not Path(GNU_TIME).is_file():
        raise BenchError(f"{GNU_TIME} is missing; install it with: apt-get install time")
    env = {**os.environ, **step.env}
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss:
        argv = (GNU_TIME, "-q", "-f", "%M", "-o", rss.name, *step.argv)
        start = time.perf_counter()
        returncode = subprocess.run(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=step.cwd
        ).returncode
        seconds = time.perf_counter() - start
        out.seek(0)
        output = out.read().decode(errors="replace")
        kilobytes = rss.read().split()
    rss_mb = int(kilobytes[-1]) / 1024 if kilobytes and kilobytes[-1].isdigit() else 0.0
    return Timed(seconds, rss_mb, returncode, output)


class Lab:
    """The bench's own lab: OpenBSD hosts (with Python for Ansible), in a directory of its own."""

    def __init__(self, root: Path, base_port: int, python: bool = True) -> None:
        self.root = root
        self.python = python
        self.paths = LabPaths(root)
        self.base_port = base_port
        self.names: list[str] = []
        self.ports: dict[str, int] = {}

    def up(self, count: int) -> None:
        status = up_lab(
            count,
            "openbsd",
            lab_dir=self.root,
            inventory=self.root / "lab.yaml",
            base_port=self.base_port,
            with_python=self.python or None,
        )
        self.names = [h.name for h in status.hosts]
        self.ports = {h.name: h.port for h in status.hosts}

    def reset(self) -> None:
        reset_lab(lab_dir=self.root)

    def _log(self, name: str, log: str) -> Path:
        return self.paths.host_root(name) / "var/log" / log

    def cut_logs(self) -> None:
        for name in self.names:
            for log in ("sshd.log", "lab-calls.log"):
                self._log(name, log).write_text("")

    def counts(self) -> tuple[float, float]:
        """Mean SSH connections and channels per host since the logs were cut."""
        connections = channels = 0
        for name in self.names:
            c, ch = sshd_counts(self._log(name, "sshd.log").read_text(errors="replace"))
            connections, channels = connections + c, channels + ch
        return connections / len(self.names), channels / len(self.names)

    def observe(self, name: str) -> Observed:
        path = self.paths.host_root(name) / TARGET.lstrip("/")
        try:
            content, mode = path.read_text(), path.stat().st_mode & 0o7777
        except FileNotFoundError:
            content, mode = None, None
        return Observed(content, mode, self._log(name, "lab-calls.log").read_text())


@dataclass(frozen=True, slots=True)
class Project:
    """Everything the steps of one host count need, written under ``work``."""

    work: Path
    hosts: int
    want: dict[str, str]
    inventory: Path
    ssh_config: Path


def write_project(lab: Lab, work: Path) -> Project:
    """The bsdprov inventory, and each peer's project, for the lab's current hosts."""
    work.mkdir(parents=True, exist_ok=True)
    lab_inventory = yaml.safe_load((lab.root / "lab.yaml").read_text())
    inventory = work / "bench.yaml"
    text = yaml.safe_dump(bench_inventory(lab_inventory, lab.names), sort_keys=False)
    inventory.write_text(text)
    want = desired_contents(text)
    access = peers.Access(lab.paths.client_key, lab.paths.known_hosts, lab.paths.ssh_config)
    hosts = [peers.LabHost(name, lab.ports[name]) for name in lab.names]
    probes = probe_scripts(text)
    peers.write_hosts_json(work / "hosts.json", hosts, access, want, probes)
    peers.write_pyinfra(work / "pyinfra", hosts, access, want)
    peers.write_ansible(work / "ansible", hosts, access, want, forks=len(hosts))
    (work / "names").write_text("".join(f"{n}\n" for n in lab.names))
    return Project(work, len(hosts), want, inventory, lab.paths.ssh_config)


def close_ansible_masters(control: Path) -> None:
    """Close the ControlPersist masters Ansible left, so the next command starts cold."""
    for socket in control.iterdir():
        subprocess.run(
            ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "x"],
            capture_output=True,
            check=False,
        )


def blocks(project: Project, tools: Sequence[str]) -> list[Block]:
    """The steps of every tool in ``tools`` for one host count."""
    n = str(project.hosts)
    work = project.work
    bsdprov = (sys.executable, "-m", "bsdprov")
    inv = ("--all", "-i", str(project.inventory), "--parallel", n)
    venv = peers.VENVS
    found = {
        "bsdprov": Block(
            "bsdprov",
            (
                Step("bsdprov deploy", CHANGES, (*bsdprov, "deploy", "--yes", *inv)),
                Step("bsdprov plan", NO_CHANGE, (*bsdprov, "plan", *inv)),
                Step("bsdprov deploy", NO_CHANGE, (*bsdprov, "deploy", "--yes", *inv)),
            ),
            resets=True,
        ),
        "pyinfra": Block(
            "pyinfra",
            tuple(
                Step(
                    "pyinfra",
                    run,
                    (str(venv / "pyinfra/bin/pyinfra"), "inventory.py", "deploy.py", "-y",
                     "--parallel", n),
                    cwd=work / "pyinfra",
                )
                for run in (CHANGES, NO_CHANGE)
            ),
            resets=True,
        ),
        "ansible": Block(
            "ansible",
            tuple(
                Step(
                    "ansible",
                    run,
                    (str(venv / "ansible/bin/ansible-playbook"), "playbook.yml"),
                    env={"ANSIBLE_CONFIG": str(work / "ansible/ansible.cfg")},
                    cwd=work / "ansible",
                )
                for run in (CHANGES, NO_CHANGE)
            ),
            resets=True,
            after_step=lambda: close_ansible_masters(work / "ansible/cp"),
        ),
        "fabric": Block(
            "fabric",
            tuple(
                Step(
                    "fabric minimal",
                    run,
                    (str(venv / "fabric/bin/python"), str(SCRIPTS / "fabric_minimal.py"),
                     str(work / "hosts.json"), n),
                )
                for run in (CHANGES, NO_CHANGE)
            ),
            resets=True,
        ),
        "floor": Block(
            "floor",
            (
                Step(
                    FLOOR,
                    READ,
                    (sys.executable, str(SCRIPTS / "paramiko_floor.py"),
                     str(work / "hosts.json"), n),
                ),
                Step(
                    FLOOR,
                    PROBE,
                    (sys.executable, str(SCRIPTS / "paramiko_floor.py"),
                     str(work / "hosts.json"), n, "--probe"),
                ),
                Step(
                    "openssh floor",
                    READ,
                    ("sh", "-c", f"xargs -P {n} -I@ ssh -F \"$1\" @ uname -s <\"$2\"", "sh",
                     str(project.ssh_config), str(work / "names")),
                ),
            ),
            resets=False,
        ),
        # Start-up alone, no host: five interleaved pairs per repetition, so load drift hits
        # both alike. The same interpreter runs both.
        "start": Block(
            "start",
            tuple(
                step
                for _ in range(5)
                for step in (
                    Step(VERSION, START, (*bsdprov, "--version")),
                    Step(IMPORT_PARAMIKO, START, (sys.executable, "-c", "import paramiko")),
                )
            ),
            resets=False,
        ),
    }  # fmt: skip
    return [found[tool] for tool in tools]


def run_block(lab: Lab, project: Project, block: Block) -> list[Sample]:
    """Reset if asked, then time each step, check every host, and return the samples."""
    if block.resets:
        lab.reset()
    samples = []
    for step in block.steps:
        lab.cut_logs()
        timed = run_timed(step)
        if block.after_step is not None:
            block.after_step()
        if step.run == CHANGES:
            time.sleep(SETTLE_S)
        if timed.returncode != 0:
            raise BenchError(
                f"{step.variant} ({step.run}, {project.hosts} hosts) exited "
                f"{timed.returncode}:\n{timed.output[-3000:]}"
            )
        problems = verify(lab, project, step, timed.output)
        if problems:
            shown = "\n".join(problems[:10])
            raise BenchError(
                f"{step.variant} ({step.run}, {project.hosts} hosts) did not do the work; "
                f"no time for it:\n{shown}\n{timed.output[-2000:]}"
            )
        connections, channels = lab.counts()
        samples.append(
            Sample(
                step.variant,
                project.hosts,
                step.run,
                round(timed.seconds, 3),
                round(timed.rss_mb, 1),
                connections,
                channels,
            )
        )
    return samples


def verify(lab: Lab, project: Project, step: Step, output: str) -> list[str]:
    if step.run == START:
        said = output.strip()
        if step.variant == VERSION:
            return [] if said.startswith("bsdprov ") else [f"--version printed {said[:200]!r}"]
        return [] if not said else [f"{step.variant} printed {said[:200]!r}"]
    if step.run in (READ, PROBE):
        answers = output.split().count("OpenBSD")
        return [] if answers == project.hosts else [f"{answers} hosts answered uname, not all"]
    problems = []
    for name in lab.names:
        observed = lab.observe(name)
        problems += check_host(name, observed, project.want[name], step.run == CHANGES)
    return problems
