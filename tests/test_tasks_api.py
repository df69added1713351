"""Every task in-process through the api seam: a fake ``connect`` stands for the hosts, and the
test reads what a user sees (stdout, stderr, exit code). No network, no lab, no clock."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bsdprov import api
from bsdprov.errors import ConnectError, ExitCode
from bsdprov.model import Host
from bsdprov.render import file_content, render_host
from bsdprov.session import CommandResult
from bsdprov.testing import FakeTransport
from tests.test_tasks import EXAMPLE, run

INVENTORY = api.check(EXAMPLE)
RUN = "20261204T201500Z-abc123"


def permissions(mode: int) -> str:
    """``ls -l``'s form of a mode, as the probe prints it."""
    return "-" + "".join(c if mode >> (8 - i) & 1 else "-" for i, c in enumerate("rwxrwxrwx"))


def in_sync_probe(name: str) -> str:
    """The probe's answer of an OpenBSD host whose files are exactly the rendering."""
    rendered = render_host(INVENTORY.hosts[name], guests=INVENTORY.guests(name))
    out = "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\n"
    for spec in rendered.files:
        text = file_content(spec)
        out += f"file {len(text.encode())} {permissions(spec.mode)} {spec.owner} {spec.group} "
        out += f"{spec.path}\n{text}\n"
    return out + "BSDPROV-PROBE-END\n"


FRESH_PROBE = "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nBSDPROV-PROBE-END\n"
# web01's verify checks (ifconfig vio0, route -n get default) as a healthy host answers them.
HEALTHY = {
    "ifconfig vio0": "vio0: flags=8843<UP>\n\tinet 203.0.113.21 netmask 0xffffffff",
    "route -n get default": "   route to: default\n    gateway: 198.51.100.1",
}


@dataclass
class FakeHost:
    """One simulated host: how it answers each script bsdprov sends it."""

    name: str
    in_sync: bool = False
    start: str = "awaiting-confirm"
    reachable: bool = True
    history: str = ""
    commands: dict[str, str] = field(default_factory=lambda: dict(HEALTHY))
    sessions: list[FakeTransport] = field(default_factory=list)

    def respond(self, script: str) -> CommandResult:
        if "txn.sh confirm" in script:
            return ok("state=applied\nreason=confirmed over a new SSH connection\n")
        if "txn.sh start" in script:
            return ok(f"state={self.start}\nreason=step failed (exit 1): netstart\njournal:\nx\n")
        if "txn.sh history" in script:
            return ok(self.history)
        if "backup/index" in script:  # a run's backup, for a rollback: the files were absent
            return ok(
                "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nabsent /etc/mygate\n"
                "BSDPROV-PROBE-END\nsteps:\nsh /etc/netstart\nchecks:\n"
            )
        if "BSDPROV-VERIFY" in script:
            return ok(self._verify(script))
        if "BSDPROV-PROBE" in script:
            return ok(in_sync_probe(self.name) if self.in_sync else FRESH_PROBE)
        raise AssertionError(f"{self.name}: unexpected script {script[:200]!r}")

    def _verify(self, script: str) -> str:
        out = []
        lines = script.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("echo 'BSDPROV-VERIFY ") and not line.endswith("-RC' $?"):
                command = lines[i + 1].removesuffix(" 2>&1 </dev/null")
                out += [line[6:-1], self.commands.get(command, ""), "BSDPROV-VERIFY-RC 0"]
        return "\n".join(out) + "\n"

    def connect(self) -> FakeTransport:
        if not self.reachable:
            raise ConnectError(
                f"host {self.name!r}: connection refused", host=self.name, cause="refused"
            )
        session = FakeTransport(respond=self.respond, host=self.name)
        self.sessions.append(session)
        return session

    @property
    def uploads(self) -> int:
        return sum(len(s.uploads) for s in self.sessions)


def report(out: str) -> str:
    """A task's stdout without the recap that ends it (tests/test_recap.py checks that)."""
    return re.sub(r"\n[A-Z]+ RECAP\n(?s:.*)\Z", "", out)


def ok(stdout: str) -> CommandResult:
    return CommandResult(stdout.encode(), b"", 0)


class Fleet:
    """The hosts a task reaches; installed as the api's default ``connect``."""

    def __init__(self) -> None:
        self.hosts: dict[str, FakeHost] = {}

    def add(self, name: str, **how: object) -> FakeHost:
        self.hosts[name] = FakeHost(name, **how)  # type: ignore[arg-type]
        return self.hosts[name]

    def connector(self, inventory: object, ssh: api.SSHOptions) -> Callable[[Host], FakeTransport]:
        return lambda host: self.hosts[host.name].connect()


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Iterator[Fleet]:
    hosts = Fleet()
    monkeypatch.setattr(api, "ssh_connector", hosts.connector)
    monkeypatch.setattr(api, "new_run_id", lambda: RUN)
    yield hosts


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def bsdprov(capsys: pytest.CaptureFixture[str]) -> Run:
    return lambda *argv: run(capsys, *argv, "-i", EXAMPLE)


def test_plan_of_a_host_in_sync_exits_0_even_with_detailed_exitcode(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01", in_sync=True)
    code, out, err = bsdprov("plan", "--host", "web01", "--detailed-exitcode")
    assert (code, err) == (ExitCode.OK, "")
    assert report(out) == "== web01 (openbsd): no changes\n\nplan: 1 host: 1 unchanged\n"


def test_pending_changes_exit_changes_pending_only_with_detailed_exitcode(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01")
    code, out, _ = bsdprov("plan", "--host", "web01", "--detailed-exitcode")
    assert code == ExitCode.CHANGES_PENDING and int(code) == 5
    # 3 files and the ownership record (docs/deploy.md#removals)
    assert "== web01 (openbsd): 4 files to change" in out
    assert "+198.51.100.1" in out
    code, _, _ = bsdprov("plan", "--host", "web01")
    assert code == ExitCode.OK
    assert fleet.hosts["web01"].uploads == 0


def test_an_unreachable_host_is_its_own_line_and_exit_3(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01", reachable=False)
    fleet.add("obsd1", in_sync=True)
    code, out, _ = bsdprov("plan", "--host", "web01,obsd1", "--detailed-exitcode")
    assert code == ExitCode.UNREACHABLE
    assert "== web01: unreachable: host 'web01': connection refused\n" in out
    assert "== obsd1 (openbsd): no changes" in out


def test_a_usage_error_is_not_mistaken_for_pending_changes(fleet: Fleet, bsdprov: Run) -> None:
    code, out, err = bsdprov("plan", "--detailed-exitcode")
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == "name the hosts: --host NAME[,NAME...], --group GROUP or --all\n"


def test_plan_json_carries_each_step_as_an_object(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, _ = bsdprov("plan", "--host", "web01", "--json")
    assert code == 0
    (host,) = json.loads(out)["hosts"]
    assert host["commands"] == [step["argv"] for step in host["steps"]]
    first = host["steps"][0]
    assert set(first) == {"argv", "may_fail", "why", "trigger"}


def test_deploy_reports_each_host_and_its_progress(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    code, out, err = bsdprov("deploy", "--host", "web01,obsd1", "--yes")
    assert code == ExitCode.OK
    assert report(out) == (
        f"web01  changed (run {RUN}): confirmed over a new SSH connection\n"
        "obsd1  unchanged\n"
        "deploy: 2 hosts: 1 changed, 1 unchanged\n"
    )
    assert sorted(err.splitlines()) == ["[1/2] obsd1: unchanged", "[2/2] web01: changed"] or (
        sorted(err.splitlines()) == ["[1/2] web01: changed", "[2/2] obsd1: unchanged"]
    )
    web01 = fleet.hosts["web01"]
    assert web01.uploads == 1 and len(web01.sessions) == 2, "confirmed over a second session"


def test_a_rolled_back_deploy_exits_4_and_shows_the_failing_step(
    fleet: Fleet, bsdprov: Run
) -> None:
    fleet.add("web01", start="rolled-back")
    code, out, _ = bsdprov("deploy", "--host", "web01", "--yes")
    assert code == ExitCode.ROLLED_BACK
    assert f"web01  rolled-back (run {RUN}): step failed (exit 1): netstart\n" in out
    assert "       failed activation command: netstart\n       exit status 1\n" in out
    assert "| x" not in out, "the journal only with --verbose"


def test_deploy_dry_run_uploads_nothing(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, err = bsdprov("deploy", "--host", "web01", "--dry-run")
    assert (code, err) == (0, "") and "4 files to change" in out  # the record included
    assert fleet.hosts["web01"].uploads == 0


def test_rollback_dry_run_shows_the_files_put_back(fleet: Fleet, bsdprov: Run) -> None:
    history = f"{RUN}\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\t\n"
    fleet.add("web01", in_sync=True, history=history)
    code, out, _ = bsdprov("rollback", "--host", "web01", "--dry-run")
    assert code == 0
    assert "== web01 (openbsd): 1 file to change" in out and "-198.51.100.1" in out
    assert fleet.hosts["web01"].uploads == 0


def test_rollback_applies_a_new_run(fleet: Fleet, bsdprov: Run) -> None:
    history = f"{RUN}\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\t\n"
    fleet.add("web01", in_sync=True, history=history)
    code, out, _ = bsdprov("rollback", "--host", "web01", "--yes")
    assert code == 0
    assert out.startswith(f"web01  changed (run {RUN}): confirmed over a new SSH connection\n")
    assert report(out).endswith("rollback: 1 host: 1 changed\n")


def test_rollback_with_nothing_applied_fails_on_that_host(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, _ = bsdprov("rollback", "--host", "web01", "--yes")
    assert code == ExitCode.FAILED
    assert "web01  failed: host 'web01': no applied run to roll back\n" in out


def test_history_lists_runs_and_a_dead_host_on_its_own_line(fleet: Fleet, bsdprov: Run) -> None:
    history = f"{RUN}\tapplied\t2026-12-04T20:15:00Z\top@ctl\tdeploy\t/etc/mygate\t\n"
    fleet.add("web01", history=history)
    fleet.add("obsd1", reachable=False)
    code, out, _ = bsdprov("history", "--host", "web01,obsd1")
    assert code == ExitCode.UNREACHABLE
    assert report(out) == (
        "== web01\n"
        "RUN                      STATE    STARTED               BY      KIND    FILES\n"
        f"{RUN}  applied  2026-12-04T20:15:00Z  op@ctl  deploy  /etc/mygate\n"
        "obsd1: host 'obsd1': connection refused\n"
    )


def test_verify_passes_with_evidence(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, err = bsdprov("verify", "--host", "web01")
    assert (code, err) == (0, "")
    assert "PASS  203.0.113.21/32 is on vio0: ifconfig vio0" in out
    assert "      shows: inet 203.0.113.21 netmask 0xffffffff\n" in out


def test_verify_fails_naming_the_host(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01", commands={"ifconfig vio0": "vio0: flags=8843<UP>"})
    code, out, err = bsdprov("verify", "--host", "web01", "--json")
    assert code == ExitCode.FAILED and err == "verify failed on: web01\n"
    (host,) = json.loads(out)["hosts"]
    assert [c["passed"] for c in host["checks"]] == [False, False]


def test_trust_prints_the_fingerprint_it_recorded(
    monkeypatch: pytest.MonkeyPatch, bsdprov: Run
) -> None:
    seen: list[str] = []

    def record(host: Host, hosts: object, ssh: api.SSHOptions) -> str:
        seen.append(host.name)
        return "ED25519 SHA256:abc"

    monkeypatch.setattr(api, "_trust_over_ssh", record)
    assert bsdprov("trust", "--host", "web01") == (0, "web01: recorded ED25519 SHA256:abc\n", "")
    assert seen == ["web01"]
    code, _, err = bsdprov("trust", "--host", "web01,obsd1")
    assert code == ExitCode.USAGE and "give one host" in err


def test_render_takes_the_same_comma_list_as_the_live_tasks(bsdprov: Run) -> None:
    code, out, _ = bsdprov("render", "--host", "web01,obsd1", "--json")
    assert code == 0
    assert [h["name"] for h in json.loads(out)["hosts"]] == ["web01", "obsd1"]


def test_render_json_carries_each_step_as_an_object(bsdprov: Run) -> None:
    code, out, _ = bsdprov("render", "--host", "obsd1", "--json")
    (host,) = json.loads(out)["hosts"]
    assert host["commands"] == [step["argv"] for step in host["steps"]]
    assert any(step["may_fail"] for step in host["steps"]), "route delete may fail"
    assert all(step["why"] for step in host["steps"])


def test_the_api_prints_nothing(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    fleet.add("web01")
    outcomes = api.deploy(Path(EXAMPLE), ["web01"], rollout=api.Rollout(operator="op"))
    assert [o.status for o in outcomes] == ["changed"]
    assert capsys.readouterr() == ("", "")


def test_a_host_named_twice_is_worked_on_once(fleet: Fleet, bsdprov: Run) -> None:
    fleet.add("web01")
    code, out, err = bsdprov("deploy", "--host", "web01,web01", "--yes")
    assert code == 0 and err == "[1/1] web01: changed\n"
    assert report(out).endswith("deploy: 1 host: 1 changed\n")
    assert fleet.hosts["web01"].uploads == 1


def test_the_api_takes_names_as_a_list_or_a_comma_string(fleet: Fleet) -> None:
    fleet.add("web01", in_sync=True)
    fleet.add("obsd1", in_sync=True)
    for hosts in ("web01, obsd1", ["web01", "obsd1"], ("web01", "obsd1", "web01")):
        outcomes = api.plan(EXAMPLE, hosts)
        assert [(o.host, o.status) for o in outcomes] == [
            ("web01", "unchanged"),
            ("obsd1", "unchanged"),
        ]
