"""A lab shaped like an example inventory (``lab.up --like``), for the e2e tests that drive a
hypervisor and its guests: bring it up for a module, reach its hosts."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bsdprov.lab.manager import down_lab, reset_lab, up_like_lab
from bsdprov.lab.paths import LabPaths
from bsdprov.lab.pytest_plugin import skip_without_lab


@dataclass(frozen=True)
class LikeLab:
    """A like-lab's directory and its hosts' ports (both moved by the test slot)."""

    lab_dir: Path
    base_port: int

    @contextmanager
    def up(self, example: Path, work: Path) -> Iterator[Path]:
        """The lab of ``example``, purged on the way out; yields the inventory that points at it."""
        skip_without_lab()
        try:
            up_like_lab(
                example, lab_dir=self.lab_dir, inventory=work / "lab.yaml", base_port=self.base_port
            )
            yield work / "lab.yaml"
        finally:
            down_lab(lab_dir=self.lab_dir, purge=True)

    def reset(self) -> None:
        reset_lab(lab_dir=self.lab_dir)

    def ssh(self, name: str, command: str) -> str:
        argv = ["ssh", "-F", str(self.lab_dir / "ssh_config"), name, command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout

    def root(self, name: str) -> Path:
        return LabPaths(self.lab_dir).host_root(name)
