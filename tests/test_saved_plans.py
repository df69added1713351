"""Saved plans (issue 17): 'plan --out FILE' saves each host's plan; 'deploy --plan FILE'
applies exactly it and refuses a host whose plan is no longer the same, naming the file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.session import CommandResult
from tests import test_tasks_api
from tests.test_tasks import EXAMPLE, run
from tests.test_tasks_api import RUN, FakeHost, Fleet, Run, ok, report

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


@dataclass
class EditedHost(FakeHost):
    """A host on which someone wrote /etc/mygate (``mygate``) after the plan was saved."""

    mygate: str | None = None

    def respond(self, script: str) -> CommandResult:
        probe = "BSDPROV-PROBE" in script and not any(
            word in script for word in ("txn.sh start", "txn.sh confirm", "BSDPROV-VERIFY")
        )
        if probe and self.mygate is not None:
            size = len(self.mygate.encode())
            return ok(
                "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
                f"file {size} -rw-r--r-- root wheel /etc/mygate\n{self.mygate}\n"
                "BSDPROV-PROBE-END\n"
            )
        return super().respond(script)


def save(bsdprov: Run, path: Path, hosts: str = "web01") -> dict[str, object]:
    code, _, err = bsdprov("plan", "--host", hosts, "--out", str(path))
    assert code == ExitCode.OK
    assert f"plan saved to {path}" in err
    document: dict[str, object] = json.loads(path.read_text())
    return document


def test_a_saved_plan_is_applied_exactly_without_a_question(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    host = fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    saved = save(bsdprov, tmp_path / "p.json", "web01,obsd1")
    assert list(saved["hosts"]) == ["web01"], "only hosts with changes"  # type: ignore[call-overload]
    assert "198.51.100.1" not in (tmp_path / "p.json").read_text(), "hashes, not contents"
    code, out, _ = run_plain(bsdprov, tmp_path / "p.json")
    assert code == ExitCode.OK
    assert report(out).startswith(f"web01  changed (run {RUN})")
    assert host.uploads == 1


def run_plain(bsdprov: Run, path: Path) -> tuple[int, str, str]:
    return bsdprov("deploy", "--plan", str(path))


def test_a_file_changed_on_the_host_since_is_refused_naming_it(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    host = EditedHost("web01")
    fleet.hosts["web01"] = host
    save(bsdprov, tmp_path / "p.json")
    host.mygate = "192.0.2.99\n"
    code, out, _ = run_plain(bsdprov, tmp_path / "p.json")
    assert code == ExitCode.FAILED
    assert (
        f"web01  failed: host 'web01': not the plan saved in {tmp_path / 'p.json'}: /etc/mygate "
        "changed on the host since the plan was saved; nothing was changed"
    ) in out
    assert host.uploads == 0


def test_an_inventory_edited_since_is_refused_naming_the_file(
    fleet: Fleet, bsdprov: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = fleet.add("web01")
    save(bsdprov, tmp_path / "p.json")
    edited = tmp_path / "edited.yaml"
    edited.write_text(Path(EXAMPLE).read_text().replace("via: 198.51.100.1", "via: 198.51.100.7"))
    code, out, _ = run(capsys, "deploy", "--plan", str(tmp_path / "p.json"), "-i", str(edited))
    assert code == ExitCode.FAILED
    assert "the inventory now gives /etc/hostname.vio0 other content or mode" in out, out
    assert host.uploads == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--host", "web01"), "the saved plan names its hosts"),
        (("--restart-vms",), "the saved plan names its hosts and options"),
    ],
)
def test_plan_with_host_or_plan_options_is_refused(
    fleet: Fleet, bsdprov: Run, tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    fleet.add("web01")
    save(bsdprov, tmp_path / "p.json")
    code, _, err = bsdprov("deploy", "--plan", str(tmp_path / "p.json"), *argv)
    assert code == ExitCode.USAGE and message in err


def test_a_file_that_is_no_saved_plan_is_refused(bsdprov: Run, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"format_version": 1, "hosts": []}')
    code, _, err = bsdprov("deploy", "--plan", str(other))
    assert code == ExitCode.USAGE and "not a saved plan" in err
    code, _, err = bsdprov("deploy", "--plan", str(tmp_path / "missing.json"))
    assert code == ExitCode.USAGE and "cannot read it" in err


def test_a_saved_plan_can_print_its_result_as_json(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    fleet.add("web01")
    save(bsdprov, tmp_path / "p.json")
    code, out, _ = bsdprov("deploy", "--plan", str(tmp_path / "p.json"), "--json")
    assert code == ExitCode.OK and json.loads(out)["hosts"][0]["status"] == "changed"


def test_a_host_that_could_not_be_planned_is_named_as_left_out_of_the_file(
    fleet: Fleet, bsdprov: Run, tmp_path: Path
) -> None:
    # 'deploy --plan' applies the hosts in the file: one that was unreachable at 'plan --out'
    # would be passed over without a word.
    fleet.add("web01")
    fleet.add("obsd1", reachable=False)
    code, _, err = bsdprov("plan", "--host", "web01,obsd1", "--out", str(tmp_path / "p.json"))
    assert code == ExitCode.UNREACHABLE
    assert "plan saved to" in err
    assert "not in it, no plan could be made: obsd1 (unreachable)\n" in err
    assert list(json.loads((tmp_path / "p.json").read_text())["hosts"]) == ["web01"]
