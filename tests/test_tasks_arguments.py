"""Issue 11, items 4 and 8: arguments that would defeat the dead-man timer or reach a root
shell on the host are refused before any host is contacted (exit 2, one message)."""

from __future__ import annotations

import pytest

from bsdprov.errors import ExitCode
from tests.test_tasks import EXAMPLE, run


@pytest.mark.parametrize("task", ["deploy", "rollback"])
@pytest.mark.parametrize("value", ["0", "-5", "9"])
def test_a_confirm_timeout_below_the_minimum_is_refused(
    capsys: pytest.CaptureFixture[str], task: str, value: str
) -> None:
    code, out, err = run(capsys, task, "--host", "obsd1", "-i", EXAMPLE, "--confirm-timeout", value)
    assert code == ExitCode.USAGE and out == ""
    assert err == (
        f"--confirm-timeout {value}: the host needs at least 10 seconds to see a new SSH login "
        "before it rolls back; use --no-confirm to deploy without the timer\n"
    )


def test_a_step_timeout_below_one_second_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "deploy", "--host", "obsd1", "-i", EXAMPLE, "--step-timeout", "0")
    assert code == ExitCode.USAGE
    assert err == "--step-timeout 0: give at least 1 second\n"


@pytest.mark.parametrize(
    "run_id",
    ["x ] || { touch /tmp/p; }", "../../..", "20261123T151733Z-e33f37/../x", "latest"],
)
def test_rollback_refuses_a_run_id_not_in_the_generated_form(
    capsys: pytest.CaptureFixture[str], run_id: str
) -> None:
    code, out, err = run(capsys, "rollback", "--host", "obsd1", "-i", EXAMPLE, "--run", run_id)
    assert code == ExitCode.USAGE and out == ""
    assert err == (
        f"--run {run_id!r} is not a run id such as 20261123T151733Z-e33f37; "
        "'bsdprov history' lists them\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["deploy", "--step-timeout", "abc"], "--step-timeout 'abc': give a whole number\n"),
        (["deploy", "--confirm-timeout=1e309"], "--confirm-timeout '1e309': give a whole number\n"),
        (["plan", "--parallel", "1.5"], "--parallel '1.5': give a whole number\n"),
    ],
)
def test_a_number_option_given_no_number_is_one_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """invoke's int() cast raised ValueError out of the parser: a traceback (review)."""
    code, out, err = run(capsys, *argv, "--host", "obsd1", "-i", EXAMPLE)
    assert (code, out, err) == (ExitCode.USAGE, "", message)
