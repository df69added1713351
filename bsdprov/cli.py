"""The ``bsdprov`` console command: the same tasks as ``invoke`` with the project's tasks.py."""

from __future__ import annotations

import re

from invoke.exceptions import Exit
from invoke.program import Program

from bsdprov import __version__
from bsdprov.errors import ExitCode
from bsdprov.tasks import ns

_BAD_INT = re.compile(r"invalid literal for int\(\) with base 10: '(.*)'", re.S)


class _Program(Program):
    def parse_tasks(self) -> None:
        # invoke casts a numeric option's value with int() while parsing and lets its
        # ValueError out: '--step-timeout abc' was a traceback.
        try:
            super().parse_tasks()
        except ValueError as exc:
            message = _bad_number(str(exc), list(self.core.unparsed))
            raise Exit(message, code=ExitCode.USAGE) from None


def _bad_number(error: str, argv: list[str]) -> str:
    found = _BAD_INT.fullmatch(error)
    value = found.group(1) if found else error
    option = next(
        (
            word.partition("=")[0]
            for i, word in enumerate(argv)
            if word.startswith("-")
            and (word.endswith(f"={value}") or (i + 1 < len(argv) and argv[i + 1] == value))
        ),
        "an option",
    )
    return f"{option} {value!r}: give a whole number"


program = _Program(namespace=ns, version=__version__, name="bsdprov", binary="bsdprov")


def main() -> None:
    program.run()
