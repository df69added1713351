"""Saved plans as a user's hands and disks treat them (attack on issue 17): a hand-edited
file is refused by name, never an internal error nor an option turned on by 'false'; a plan
that cannot be written leaves nothing beside its name; a plan made in one directory applies
from another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from tests import test_tasks_api
from tests.test_tasks import EXAMPLE, run
from tests.test_tasks_api import Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


def saved(bsdprov: Run, path: Path) -> dict[str, object]:
    code, _, _ = bsdprov("plan", "--host", "web01", "--out", str(path))
    assert code == ExitCode.OK
    document: dict[str, object] = json.loads(path.read_text())
    return document


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["options"].update(restart_vms="false"),
            "options: restart_vms: 'false' is not true or false",
        ),
        (lambda d: d["hosts"].update(web01="x"), "hosts: web01: not a saved host plan"),
        (
            lambda d: d["hosts"].update(web01={"os": "openbsd"}),
            "hosts: web01: not a saved host plan",
        ),
    ],
    ids=["option-as-text", "host-as-text", "host-without-files"],
)
def test_a_hand_edited_plan_is_refused_naming_the_file_and_key(
    fleet: Fleet, bsdprov: Run, tmp_path: Path, edit: object, message: str
) -> None:
    host = fleet.add("web01")
    document = saved(bsdprov, tmp_path / "p.json")
    edit(document)  # type: ignore[operator]
    (tmp_path / "p.json").write_text(json.dumps(document))
    code, out, err = bsdprov("deploy", "--plan", str(tmp_path / "p.json"))
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == f"{tmp_path / 'p.json'}: {message}\n"
    assert host.sessions[1:] == [], "refused before any host was contacted again"


def test_a_plan_that_cannot_be_written_leaves_nothing_beside_its_name(
    fleet: Fleet, bsdprov: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bsdprov.tasks.os.replace", disk_full)
    code, _, err = bsdprov("plan", "--host", "web01", "--out", str(tmp_path / "p"))
    assert code == ExitCode.USAGE and "cannot write it: No space left on device" in err
    assert list(tmp_path.iterdir()) == [], "nothing left beside it"


def test_a_directory_given_as_out_is_refused_before_any_host(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    host = fleet.add("web01")
    (tmp_path / "p").mkdir()
    code, _, err = bsdprov("plan", "--host", "web01", "--out", str(tmp_path / "p"))
    assert code == ExitCode.USAGE and "exists and is not a saved plan" in err
    assert host.sessions == [] and sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_a_plan_saved_with_a_relative_inventory_applies_from_another_directory(
    fleet: Fleet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host = fleet.add("web01")
    monkeypatch.chdir(Path(EXAMPLE).parent)
    plan = tmp_path / "p.json"
    code, _, _ = run(
        capsys, "plan", "--host", "web01", "-i", Path(EXAMPLE).name, "--out", str(plan)
    )
    assert code == ExitCode.OK
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "deploy", "--plan", str(plan))
    assert code == ExitCode.OK, err
    assert "web01  changed" in out and host.uploads == 1


def test_a_planted_symlink_beside_the_plan_is_not_written_through(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    # Another user of a shared directory (/tmp) plants the name the plan used to be written
    # under first, pointing at a file of root's.
    fleet.add("web01")
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    (tmp_path / ".p.json.tmp").symlink_to(victim)
    saved(bsdprov, tmp_path / "p.json")
    assert victim.read_text() == "root's file\n"
    assert (tmp_path / "p.json").stat().st_mode & 0o777 == 0o600, "private: it holds hashes"


def test_an_endless_file_is_refused_without_reading_it_all(
    bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bsdprov.tasks.MAX_PLAN_BYTES", 1024)
    code, out, err = bsdprov("deploy", "--plan", "/dev/zero")
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == "--plan /dev/zero: not a saved plan (over 1024 bytes)\n"


def test_out_never_replaces_a_file_that_is_not_a_saved_plan(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    host = fleet.add("web01")
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text("hosts: {}\n")
    code, out, err = bsdprov("plan", "--host", "web01", "--out", str(inventory))
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == (
        f"--out {inventory}: the file exists and is not a saved plan; nothing was written "
        "(remove it first, or give another name)\n"
    )
    assert inventory.read_text() == "hosts: {}\n" and host.sessions == []
    saved(bsdprov, tmp_path / "p.json")
    saved(bsdprov, tmp_path / "p.json")  # a saved plan is replaced by the next one
