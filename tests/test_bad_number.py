"""A ValueError out of invoke's parser (issue 17): only an int() that could not read a number
option's value says "give a whole number", naming the option as typed; anything else is said
as it is, never dressed up as a number problem."""

from __future__ import annotations

import pytest
from invoke.parser import Parser

from bsdprov.errors import ExitCode
from tests.test_tasks import EXAMPLE, run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "-p", "abc"], "-p 'abc': give a whole number\n"),
        (["plan", "--host", "7", "--parallel", "x"], "--parallel 'x': give a whole number\n"),
        (
            ["plan", "--parallel", "1" * 5000],
            "--parallel: a number of 5000 digits is far too big; give a whole number\n",
        ),
        (
            ["deploy", f"--confirm-timeout={'9' * 4301}"],
            "--confirm-timeout: a number of 4301 digits is far too big; give a whole number\n",
        ),
    ],
    ids=["short", "not-the-string-option", "too-long", "too-long-equals"],
)
def test_a_number_that_cannot_be_read_names_its_option(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv, "-i", EXAMPLE)
    assert (code, out, err) == (ExitCode.USAGE, "", message)


def test_any_other_parser_error_is_said_as_it_is(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    parse = Parser.parse_argv

    def broken(self: Parser, argv: list[str]) -> object:
        if self.contexts:  # the commands' parse (the core options' parser has none)
            raise ValueError("Non-initial contexts must have names.")
        return parse(self, argv)

    monkeypatch.setattr(Parser, "parse_argv", broken)
    code, out, err = run(capsys, "plan", "--host", "web01", "-i", EXAMPLE)
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == "bsdprov: cannot read the options: Non-initial contexts must have names.\n"
