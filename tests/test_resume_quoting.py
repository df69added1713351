"""A failed rollback's run id, read from the host, goes back into ``txn.sh resume`` quoted
(found by review: deploy and rollback pasted it into the script as it came)."""

from __future__ import annotations

import contextlib

from bsdprov.apply import DeployOptions, deploy_one, rollback_one
from bsdprov.session import CommandResult
from bsdprov.testing import FakeTransport, answer
from tests.test_hostile_replies import HEAD, OBSD1, RUN_ID

EVIL = "x;touch${IFS}p"  # a directory name: no slash (run_dir refuses one)


def ok(stdout: str) -> CommandResult:
    return answer(stdout)


def resume_scripts(session: FakeTransport) -> list[str]:
    return [s for s in session.scripts if " resume " in s]


def test_deploy_quotes_a_failed_rollbacks_run_id() -> None:
    probe = (
        HEAD + f"absent /etc/hostname.vio0\nrun {EVIL} rollback-failed dead\nBSDPROV-PROBE-END\n"
    )
    session = FakeTransport([ok(probe), ok("state=rolled-back\n")])
    with contextlib.suppress(Exception):
        deploy_one(lambda h: session, OBSD1, RUN_ID, DeployOptions())
    assert resume_scripts(session) == [f"sh '/var/db/bsdprov/runs/{EVIL}/txn.sh' resume '{EVIL}'\n"]


def test_rollback_quotes_a_failed_rollbacks_run_id() -> None:
    history = f"{EVIL}\trollback-failed\t2026-11-23T15:17:33Z\troot\tdeploy\t-\tboom\n"
    session = FakeTransport([ok(history), ok("state=rolled-back\n")])
    with contextlib.suppress(Exception):
        rollback_one(lambda h: session, OBSD1, None, RUN_ID, DeployOptions())
    assert resume_scripts(session) == [f"sh '/var/db/bsdprov/runs/{EVIL}/txn.sh' resume '{EVIL}'\n"]
