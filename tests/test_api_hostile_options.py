"""Options an api caller can get wrong, and what they would have done to a host.

The deploy options end up in the run's ``settings`` file, one ``key=value`` a line, which
txn.sh reads with ``[ "$value" -gt 0 ]`` and whose last line of a key wins (txn.sh
``load_settings``). So a value the shell cannot compare (a float, a number past the shell's
integer range: mksh's arithmetic is 32-bit, dash's 64-bit) reads as "no timer", and an operator
name with a newline can add a key: both deployed with no dead-man timer while the caller asked
for one.
"""

from __future__ import annotations

import pytest

from bsdprov import api
from bsdprov.errors import UsageError
from bsdprov.model import Host
from bsdprov.plan import Plan
from bsdprov.run import RunSettings, build_run
from bsdprov.testing import FakeTransport
from tests.test_tasks import EXAMPLE, run
from tests.test_tasks_api import FakeHost


def settings_as_txn_sh_reads_them(operator: str) -> dict[str, str]:
    """The settings file a deploy would upload, read as txn.sh load_settings does."""
    rollout = api.Rollout(operator=operator)
    options = api._apply_options(api.DeployOptions(confirm_timeout=120), rollout)
    settings = RunSettings("20261204T201500Z-abc123", options.user, "deploy", 120, 120)
    text = build_run(
        Plan(host="h", os="openbsd", changes=(), checks=(), steps=(), verify=()), settings
    )["settings"].decode()
    read: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        read[key] = value  # the last line of a key wins
    return read


@pytest.mark.parametrize(
    "operator",
    [
        "ci\nconfirm_timeout=0",  # turned the dead-man timer off
        "ci\rstep_timeout=1",
        "ci\tbuild",  # a tab splits history's line: the run vanished from 'bsdprov history'
        "ci\u2028build",  # a line break to str.splitlines, which parse_history uses
        "ci\x00",
        "",
        "   ",
    ],
)
def test_an_operator_that_would_break_the_settings_file_is_refused(operator: str) -> None:
    with pytest.raises(UsageError, match="operator"):
        api.Rollout(operator=operator)


@pytest.mark.parametrize("operator", ["ci@build", "Jane Doe (on-call)", "é@hôte", "a=b"])
def test_an_ordinary_operator_is_kept_and_adds_no_key(operator: str) -> None:
    read = settings_as_txn_sh_reads_them(operator)
    assert read["user"] == operator
    assert read["confirm_timeout"] == "120" and read["kind"] == "deploy"


@pytest.mark.parametrize(
    "field, value",
    [
        ("confirm_timeout", 150.0),  # settings said 150.0: the shell's -gt refused it, no timer
        ("confirm_timeout", float("nan")),
        ("confirm_timeout", "120"),
        ("confirm_timeout", None),
        ("confirm_timeout", 2**63),  # past dash's and busybox's integers: no timer
        ("confirm_timeout", 2**31),  # past mksh's 32-bit integers: no timer
        ("step_timeout", 1.5),  # every step killed at once
        ("step_timeout", 2**63),
        ("step_timeout", True),
    ],
)
def test_a_timeout_the_host_cannot_count_is_refused(field: str, value: object) -> None:
    with pytest.raises(UsageError, match=field.replace("_", "-")):
        api.DeployOptions(**{field: value})  # type: ignore[arg-type]


def test_the_largest_timeouts_are_kept() -> None:
    options = api.DeployOptions(confirm_timeout=api.MAX_TIMEOUT, step_timeout=api.MAX_TIMEOUT)
    assert options.confirm_timeout == options.step_timeout == api.MAX_TIMEOUT


@pytest.mark.parametrize("field", ["parallel", "serial", "max_fail"])
@pytest.mark.parametrize("value", [2.5, "4", None, True])
def test_a_rollout_count_that_is_not_a_whole_number_is_refused(field: str, value: object) -> None:
    with pytest.raises(UsageError, match=field.replace("_", "-")):
        api.Rollout(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("made", ["", "..", "../../..", "ci-42", "20261204T201500Z-abc123/x"])
@pytest.mark.parametrize("call", ["deploy", "rollback"])
def test_a_run_id_that_is_not_one_never_reaches_the_host(made: str, call: str) -> None:
    """The start script ran 'rm -rf /var/db/bsdprov/runs/<id>' before txn.sh checked the id:
    an empty id wiped every run's backup, '../../..' was 'rm -rf /var'."""
    applied = "20261204T201500Z-abc123\tapplied\t-\top\tdeploy\t/etc/mygate\t-\n"
    host = FakeHost("web01", history=applied)

    def connect(target: Host) -> FakeTransport:
        return host.connect()

    outcomes = getattr(api, call)(
        api.check(EXAMPLE), ["web01"], rollout=api.Rollout(run_id=lambda: made), connect=connect
    )
    assert [o.status for o in outcomes] == ["failed"]
    assert "run id" in (outcomes[0].reason or "")
    assert host.uploads == 0
    assert not any("rm -rf" in script for s in host.sessions for script in s.scripts)


def test_the_command_refuses_a_timer_the_host_would_not_arm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """'deploy --confirm-timeout 99999999999999999999' was a deploy with no dead-man timer."""
    argv = ("deploy", "--host", "web01", "--confirm-timeout", "99999999999999999999")
    code, out, err = run(capsys, *argv, "-i", EXAMPLE)
    assert (code, out) == (2, "")
    assert err == "--confirm-timeout 99999999999999999999: give at most 86400 seconds (a day)\n"


@pytest.mark.parametrize("field", ["confirm", "restart_vms", "purge_disks", "uplink"])
@pytest.mark.parametrize("value", ["false", "no", "0", 1, None])
def test_a_switch_that_is_not_a_bool_is_refused(field: str, value: object) -> None:
    """purge_disks=os.environ.get("PURGE", "false") was true: it deleted the disk
    images of VMs dropped from the inventory."""
    with pytest.raises(UsageError, match=field):
        api.DeployOptions(**{field: value})  # type: ignore[arg-type]
