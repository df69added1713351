"""The ``bsdprov`` console command: the same tasks as ``invoke`` with the project's tasks.py."""

from __future__ import annotations

from invoke.program import Program

from bsdprov import __version__
from bsdprov.tasks import ns

program = Program(namespace=ns, version=__version__, name="bsdprov", binary="bsdprov")


def main() -> None:
    program.run()
