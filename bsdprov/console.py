"""The ``bsdprov`` command: an Invoke ``Program`` over bsdprov's tasks, with bsdprov's options only.

Invoke's own core flags (``--dry``, ``--echo``, ``--pty``, ``--warn-only``, ``--hide``,
``--prompt-for-sudo-password``, ``--config``...) steer ``c.run()``, which no bsdprov task uses:
offered here they would look like a safety switch (``bsdprov --dry deploy``) and do nothing.
So the command knows only ``--help``, ``--version`` and shell completion; anything else before
a command is refused as unknown, with exit 2 like every usage error.
"""

from __future__ import annotations

import difflib
import inspect
import re

from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.program import Program

from bsdprov import __version__
from bsdprov.errors import ExitCode
from bsdprov.tasks import ns

EXIT_CODES = """Exit codes:
  0    done: every host done, or nothing to do
  1    a host failed (or a deploy was cancelled at the question)
  2    bad arguments or inventory; nothing was contacted
  3    a host was unreachable
  4    a host rolled back (its old files are back)
  5    plan --detailed-exitcode: changes are pending
  130  interrupted (Ctrl-C): what each host does by itself is printed
  143  terminated (SIGTERM): the same as 130
  When hosts differ, the worst decides: 1, then 4, then 3; skipped hosts add none.
"""
CORE_OPTIONS = ("help", "version", "complete", "print-completion-script")
_BAD_INT = re.compile(r"invalid literal for int\(\) with base 10: '(.*)'", re.S)
# Python reads no integer of more than sys.get_int_max_str_digits() digits (4300).
_TOO_LONG = re.compile(r"Exceeds the limit \((\d+) digits\) for integer string conversion")
_UNKNOWN = re.compile(r"No idea what '(.*)' is!", re.S)
# Invoke names the option by its Argument object: "Flag <Argument: confirm_timeout (c) [int]>".
_NO_VALUE = re.compile(r"Flag <Argument: (\w+)[^>]*> needed value and was not given one!", re.S)


class _CoreArgs:
    """The parsed core options; one Invoke looks up but bsdprov does not offer reads as unset."""

    # Read by Invoke's listing of commands, which --help and a bare 'bsdprov' show.
    _defaults = {"list-format": "flat", "list-depth": 0}

    def __init__(self, parsed: dict[str, Argument]) -> None:
        self._parsed = parsed

    def __getitem__(self, name: str) -> Argument:
        if name in self._parsed:
            return self._parsed[name]
        return Argument(names=(name,), default=self._defaults.get(name))

    def __getattr__(self, name: str) -> Argument:
        return self[name]

    def __contains__(self, name: str) -> bool:
        return name in self._parsed


class BsdprovProgram(Program):
    def core_args(self) -> list[Argument]:
        kept = [arg for arg in super().core_args() if arg.name in CORE_OPTIONS]
        for arg in kept:
            if arg.name == "help":
                arg.help = "Show this help, or a command's (--help COMMAND), and exit."
        return kept

    @property
    def args(self) -> _CoreArgs:  # type: ignore[override]
        return _CoreArgs(self.core[0].args)

    def print_help(self) -> None:
        print(f"Usage: {self.binary} [--help | --version] COMMAND [OPTIONS]")
        print(f"       {self.binary} COMMAND --help    (a command's options)")
        print("")
        print("Options:")
        print("")
        self.print_columns(self.initial_context.help_tuples())
        self.list_tasks()
        print(EXIT_CODES)

    def task_list_opener(self, extra: str = "") -> str:
        return "Commands"

    def print_task_help(self, name: str) -> None:
        print(f"Usage: {self.binary} {name} [OPTIONS]")
        print("")
        for line in (inspect.getdoc(self.collection[name]) or "").splitlines():
            print(f"{self.leading_indent}{line}" if line.strip() else "")
        print("")
        print("Options:")
        self.print_columns(self.parser.contexts[name].help_tuples())
        print(EXIT_CODES)

    def no_tasks_given(self) -> None:
        self.print_help()
        raise Exit("bsdprov: name a command", ExitCode.USAGE)

    def parse_core(self, argv: list[str] | None) -> None:
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise Exit(_usage(exc), ExitCode.USAGE) from None

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(_usage(exc, self._flags_of_command()), ExitCode.USAGE) from None
        except ValueError as exc:
            # invoke casts a numeric option's value with int() while parsing and lets its
            # ValueError out: '--step-timeout abc' was a traceback.
            # The parser is made first; an error making it leaves no parser to ask.
            flags = self._number_flags() if hasattr(self, "parser") else set()
            message = _bad_number(str(exc), list(self.core.unparsed), flags)
            raise Exit(message, code=ExitCode.USAGE) from None

    def _number_flags(self) -> set[str]:
        """Every command's options that take a whole number (``--parallel``, ``-p``...)."""
        found = set()
        for context in self.parser.contexts.values():
            flags = context.flags
            longs = {flag for flag, argument in flags.items() if argument.kind is int}
            # A short option is an alias in invoke's Lexicon, not one of its items.
            found |= longs | {short for short, flag in flags.aliases.items() if flag in longs}
        return found

    def _flags_of_command(self) -> list[str]:
        """The options of the command being parsed (every command's, if none was named)."""
        contexts = self.parser.contexts
        named = [word for word in self.core.unparsed if word in contexts]
        chosen = [contexts[named[0]]] if named else list(contexts.values())
        return sorted({flag for context in chosen for flag in context.flags})

    def parse_cleanup(self) -> None:
        try:
            super().parse_cleanup()
        except ParseError as exc:
            raise Exit(_usage(exc), ExitCode.USAGE) from None


def _usage(exc: ParseError, flags: list[str] | None = None) -> str:
    error = str(exc)
    missing = _NO_VALUE.fullmatch(error)
    if missing:
        flag = "--" + missing.group(1).replace("_", "-")
        command = getattr(exc.context, "name", None)
        where = f"'bsdprov {command} --help'" if command else "'bsdprov --help'"
        return f"bsdprov: {flag} needs a value; {where} shows it"
    unknown = _UNKNOWN.fullmatch(error)
    if unknown:
        word = unknown.group(1)
        typed = word.partition("=")[0]
        near = difflib.get_close_matches(typed, flags or [], n=1, cutoff=0.75)
        # A flag cut short ('--dry', '--detailed') is too short for difflib's ratio to find.
        starting = [
            flag for flag in flags or [] if typed.startswith("--") and flag.startswith(typed)
        ]
        near = near or (starting if len(starting) == 1 else [])
        if near:
            return f"bsdprov: no option {word!r}; did you mean {near[0]}?"
        return f"bsdprov: no option or command {word!r}; 'bsdprov --help' lists them"
    return f"bsdprov: {error}"


def _bad_number(error: str, argv: list[str], number_flags: set[str]) -> str:
    """The message for a ValueError out of invoke's parser. Only a failed int() of a number
    option's value says "give a whole number", naming the option; anything else is said as it
    is (it was every ValueError: "an option 'Exceeds the limit (4300 digits)...': give a whole
    number")."""
    bad = _BAD_INT.fullmatch(error)
    too_long = _TOO_LONG.search(error)
    if not bad and not too_long:
        return f"bsdprov: cannot read the options: {error}"
    option, value = _failed_number(argv, number_flags) or (
        "an option",
        bad.group(1) if bad else "",
    )
    if too_long:
        # Python refuses to read an integer of more than 4300 digits: not worth echoing.
        return (
            f"{option}: a number of {len(value.strip())} digits is far too big; give a whole number"
        )
    return f"{option} {value!r}: give a whole number"


def _failed_number(argv: list[str], number_flags: set[str]) -> tuple[str, str] | None:
    """The first number option in ``argv`` whose value int() cannot read, and that value."""
    for i, word in enumerate(argv):
        flag, equals, value = word.partition("=")
        if flag not in number_flags:
            continue
        if not equals:
            value = argv[i + 1] if i + 1 < len(argv) else ""
        try:
            int(value)
        except ValueError:
            return flag, value
    return None


program = BsdprovProgram(namespace=ns, version=__version__, name="bsdprov", binary="bsdprov")
