"""An option cut short names the one it starts (attack on issue 17): '--dry' (Invoke's own
core flag, refused) got no hint towards --dry-run, as it is too short for a close match."""

from __future__ import annotations

import pytest

from bsdprov.errors import ExitCode
from tests.test_tasks import EXAMPLE, run


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (("deploy", "--host", "web01", "--dry"), "--dry-run"),
        (("plan", "--host", "web01", "--detailed"), "--detailed-exitcode"),
    ],
)
def test_a_flag_cut_short_names_the_one_it_starts(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], meant: str
) -> None:
    code, out, err = run(capsys, *argv, "-i", EXAMPLE)
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == f"bsdprov: no option {argv[-1]!r}; did you mean {meant}?\n"


def test_a_prefix_of_several_flags_names_none(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deploy", "--host", "web01", "--p", "-i", EXAMPLE)
    assert code == ExitCode.USAGE  # --parallel, --plan, --purge-disks
    assert "did you mean" not in err
