"""Each host's result as soon as it is known (issue 17): with parallel hosts, a fast host's
plan, verify or history report is printed while a slow host still works; --json stays one
document at the end. In-process, through the api seam: the slow host's session blocks until
the fast host's report has been written (or gives up after a few seconds)."""

from __future__ import annotations

import io
import json
import sys
import threading
from dataclasses import dataclass, field

import pytest

from bsdprov.session import CommandResult
from tests import test_tasks_api
from tests.test_tasks_api import FakeHost, Fleet, Run

fleet = test_tasks_api.fleet
bsdprov = test_tasks_api.bsdprov


class Screen(io.StringIO):
    """stdout that notes when the fast host's name is first written."""

    def __init__(self, fast: str) -> None:
        super().__init__()
        self.fast = fast
        self.shown = threading.Event()

    def write(self, text: str) -> int:
        if self.fast in text:
            self.shown.set()
        return super().write(text)


@dataclass
class SlowHost(FakeHost):
    """A host that answers its first script only once ``ready`` is set (or after 5 s)."""

    ready: threading.Event = field(default_factory=threading.Event)
    waited: list[bool] = field(default_factory=list)

    def respond(self, script: str) -> CommandResult:
        if not self.waited:
            self.waited.append(self.ready.wait(5))
        return super().respond(script)


@pytest.mark.parametrize(
    ("task", "fast_says"),
    [("plan", "== obsd1 (openbsd)"), ("verify", "== obsd1"), ("history", "obsd1: no runs")],
)
def test_a_fast_hosts_report_is_printed_while_a_slow_host_still_works(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch, task: str, fast_says: str
) -> None:
    screen = Screen(fast_says)
    slow = SlowHost("web01", ready=screen.shown)
    fleet.hosts["web01"] = slow
    fleet.add("obsd1", in_sync=True)
    monkeypatch.setattr(sys, "stdout", screen)
    bsdprov(task, "--host", "web01,obsd1", "--parallel", "2")
    assert slow.waited == [True], f"{task}: obsd1's report came only after web01 finished"
    out = screen.getvalue()
    assert out.index(fast_says) < out.index("web01"), "the fast host first, as it finished"
    assert out.count(fast_says) == 1, "printed once, not again at the end"


@pytest.mark.parametrize("task", ["plan", "verify", "history"])
def test_json_is_one_document_at_the_end(fleet: Fleet, bsdprov: Run, task: str) -> None:
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    _, out, _ = bsdprov(task, "--host", "web01,obsd1", "--json")
    names = [host["name"] for host in json.loads(out)["hosts"]]
    assert names == ["web01", "obsd1"], "one document, hosts in the order asked"


def test_deploys_plan_is_shown_host_by_host_then_asked_once(
    fleet: Fleet, bsdprov: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet.add("web01")
    fleet.add("obsd1", in_sync=True)
    monkeypatch.setattr("bsdprov.tasks.require_answerable", lambda verb: None)
    monkeypatch.setattr("bsdprov.tasks.approved", lambda question: False)
    code, out, _ = bsdprov("deploy", "--host", "web01,obsd1")
    assert code == 1
    assert out.count("== web01 (openbsd): 4 files to change") == 1
    assert out.count("== obsd1 (openbsd): no changes") == 1
    assert out.count("plan: 2 hosts:") == 1
