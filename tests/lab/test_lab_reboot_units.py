"""lab.reboot without a running lab: which host, and the messages when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke.context import Context
from invoke.exceptions import Exit

from bsdprov.errors import ExitCode
from bsdprov.lab import reboot as reboot_module
from bsdprov.lab import tasks
from bsdprov.lab.errors import LabError
from bsdprov.lab.hosts import plan_hosts
from bsdprov.lab.reboot import reboot_host
from bsdprov.lab.state import HostRecord, LabState, ProcessId, save_state


@pytest.fixture(autouse=True)
def _anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reboot_module, "check_prerequisites", lambda: None)


def test_an_unknown_host_is_named_with_the_labs_hosts(tmp_path: Path) -> None:
    with pytest.raises(LabError) as empty:
        reboot_host("lab01", lab_dir=tmp_path)
    assert str(empty.value) == f"lab.reboot: no host 'lab01' in {tmp_path}; its hosts are none"
    records = tuple(HostRecord(spec, 22000 + i) for i, spec in enumerate(plan_hosts(2, "mixed")))
    save_state(tmp_path / "state.json", LabState(records))
    with pytest.raises(LabError) as unknown:
        reboot_host("lab09", lab_dir=tmp_path)
    assert str(unknown.value).endswith("its hosts are lab01, lab02")


def test_a_stopped_host_is_refused(tmp_path: Path) -> None:
    (spec,) = plan_hosts(1, "openbsd")
    gone = ProcessId(2**22 + 1, 1)  # above the default pid_max: no such process
    for process in (None, gone):
        save_state(tmp_path / "state.json", LabState((HostRecord(spec, 22001, process),)))
        with pytest.raises(LabError) as stopped:
            reboot_host("lab01", lab_dir=tmp_path)
        assert str(stopped.value) == (
            "lab.reboot: lab01 is not running; start it with: invoke lab.up"
        )


def test_the_task_needs_a_name_not_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exit) as refused:
        tasks.reboot(Context(), "--help")
    assert refused.value.code == ExitCode.USAGE
    assert refused.value.message == (
        "usage: bsdprov lab.reboot NAME (help: bsdprov --help lab.reboot)"
    )
