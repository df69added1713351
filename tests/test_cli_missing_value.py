"""An option given without its value is named as the user typed it, not as Invoke's object.

'bsdprov plan --host' said "Flag <Argument: host (h)> needed value and was not given one!".
"""

from __future__ import annotations

import pytest

from bsdprov.errors import ExitCode
from tests.test_tasks import run


@pytest.mark.parametrize(
    "argv, flag",
    [
        (("plan", "--host"), "--host"),
        (("deploy", "--host", "obsd1", "-c"), "--confirm-timeout"),
        (("deploy", "--host", "obsd1", "--step-timeout"), "--step-timeout"),
        (("check", "--inventory"), "--inventory"),
        (("plan", "--all", "--ssh-config"), "--ssh-config"),
    ],
)
def test_an_option_without_its_value(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], flag: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == f"bsdprov: {flag} needs a value; 'bsdprov {argv[0]} --help' shows it\n"
