"""Build run directories for txn.sh in a throwaway root and run it under a chosen shell."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bsdprov.run import posix_cksum

REMOTE = Path(__file__).parents[2] / "bsdprov" / "remote"
SHELLS = [["dash"], ["busybox", "sh"], ["mksh"], ["posh"]]


@dataclass
class Host:
    """A fake host root with bsdprov's state directory and a run being prepared."""

    root: Path
    shell: list[str]
    runs: list[str] = field(default_factory=list)

    def path(self, target: str) -> Path:
        return self.root / target.lstrip("/")

    def write(self, target: str, text: str, mode: int = 0o644) -> None:
        path = self.path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)

    def fingerprint(self, target: str) -> str:
        path = self.path(target)
        return posix_cksum(path.read_bytes()) if path.exists() else "absent"

    def prepare(
        self,
        run_id: str,
        files: dict[str, str],
        *,
        steps: Sequence[str] = (),
        checks: Sequence[str] = (),
        prepare: Sequence[str] = (),
        verify: Sequence[str] = (),
        timeout: int = 0,
        step_timeout: int = 30,
        mode: str = "640",
        before: dict[str, str] | None = None,
    ) -> Path:
        run = self.root / "var/db/bsdprov/runs" / run_id
        (run / "files").mkdir(parents=True)
        manifest = []
        for n, (target, content) in enumerate(files.items()):
            (run / "files" / str(n)).write_text(content)
            planned = (before or {}).get(target, self.fingerprint(target))
            manifest.append(f"put {n} {mode} root root {planned} {target}\n")
        (run / "manifest").write_text("".join(manifest))
        (run / "steps").write_text("".join(f"{line}\n" for line in steps))
        (run / "checks").write_text("".join(f"{line}\n" for line in checks))
        (run / "prepare").write_text("".join(f"{line}\n" for line in prepare))
        (run / "verify").write_text("".join(f"{line}\n" for line in verify))
        (run / "settings").write_text(
            f"confirm_timeout={timeout}\nstep_timeout={step_timeout}\nuser=tester\nkind=deploy\n"
        )
        (run / "txn.sh").write_text((REMOTE / "txn.sh").read_text())
        self.runs.append(run_id)
        return run

    def txn(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "BSDPROV_ROOT": str(self.root)}
        script = (
            str(self.root / "var/db/bsdprov/runs" / self.runs[-1] / "txn.sh")
            if self.runs
            else str(REMOTE / "txn.sh")
        )
        return subprocess.run(
            [*self.shell, script, *args], env=env, capture_output=True, text=True, timeout=timeout
        )

    def state(self, run_id: str) -> str:
        return (self.root / "var/db/bsdprov/runs" / run_id / "state").read_text().strip()

    def reason(self, run_id: str) -> str:
        path = self.root / "var/db/bsdprov/runs" / run_id / "reason"
        return path.read_text().strip() if path.exists() else ""

    def journal(self, run_id: str) -> str:
        return (self.root / "var/db/bsdprov/runs" / run_id / "journal").read_text()

    def wait_for(self, run_id: str, wanted: str, seconds: float = 15) -> str:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            current = self.state(run_id)
            if current == wanted:
                return current
            time.sleep(0.1)
        return self.state(run_id)


def record(log: Path, text: str) -> str:
    """A step line that appends ``text`` to ``log`` (to see what ran, and how often)."""
    return shlex.join(["sh", "-c", f'echo "$0" >> {shlex.quote(str(log))}', text])
