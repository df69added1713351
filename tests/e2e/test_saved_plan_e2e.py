"""Saved plans on the lab (issue 17): ``plan --out F`` then ``deploy --plan F --yes`` applies
exactly that plan, and only once; a managed file changed on the host after ``plan --out`` makes
``deploy --plan F`` refuse that host, naming the file, with the host left untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RebootInvariant, RunningLab
from tests.command import bsdprov
from tests.e2e.test_deploy import add_alias, edited, fresh, snapshot

pytestmark = pytest.mark.e2e
__all__ = ["fresh"]  # the fixture


def test_a_saved_plan_is_applied_exactly_and_only_once(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    name = fresh.names[0]  # openbsd: /etc/hostname.vio0 gains the alias
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.55/32"))
    saved = tmp_path / "reviewed.plan"
    before = snapshot(fresh, name)
    planned = bsdprov("plan", "--host", name, "-i", inventory, "--out", str(saved))
    assert planned.returncode == ExitCode.OK, planned.stdout + planned.stderr
    assert "+inet alias 203.0.113.55 255.255.255.255\n" in planned.stdout
    assert f"plan saved to {saved}: 1 host with changes" in planned.stderr
    assert snapshot(fresh, name) == before, "saving a plan changes nothing on the host"
    assert not (fresh.host_root(name) / "var/db/bsdprov/runs").exists()

    applied = bsdprov("deploy", "--plan", str(saved), "-i", inventory, "--yes")
    assert applied.returncode == ExitCode.OK, applied.stdout + applied.stderr
    assert f"{name}  changed (run " in applied.stdout
    assert "Only 'yes' goes ahead" not in applied.stderr, "a saved plan asks nothing"
    hostname = (fresh.host_root(name) / "etc/hostname.vio0").read_text()
    assert "inet alias 203.0.113.55 255.255.255.255\n" in hostname
    assert "203.0.113.55" in fresh.ssh(name, "ifconfig vio0").stdout
    again = bsdprov("plan", "--host", name, "-i", inventory, "--detailed-exitcode")
    assert again.returncode == ExitCode.OK, "the host is now exactly what the plan made it"

    replayed = bsdprov("deploy", "--plan", str(saved), "-i", inventory, "--yes")
    assert replayed.returncode == ExitCode.FAILED, replayed.stdout + replayed.stderr
    assert (
        f"not the plan saved in {saved}: /etc/hostname.vio0 was in the saved plan and is not "
        "now (already as planned?); nothing was changed"
    ) in replayed.stdout
    reboot_invariant(fresh, name)


def test_a_file_changed_on_the_host_after_the_plan_is_refused_by_name(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[1]  # freebsd: /etc/rc.conf gains the alias
    inventory = edited(fresh, tmp_path, lambda d: add_alias(d, name, "203.0.113.56/32"))
    saved = tmp_path / "reviewed.plan"
    planned = bsdprov("plan", "--host", name, "-i", inventory, "--out", str(saved))
    assert planned.returncode == ExitCode.OK, planned.stdout + planned.stderr

    fresh.ssh(name, "echo '# edited by hand after the review' >> /etc/rc.conf")
    edited_by_hand = snapshot(fresh, name)
    refused = bsdprov("deploy", "--plan", str(saved), "-i", inventory, "--yes")
    assert refused.returncode == ExitCode.FAILED, refused.stdout + refused.stderr
    assert (
        f"{name}  failed: host {name!r}: not the plan saved in {saved}: /etc/rc.conf changed "
        "on the host since the plan was saved; nothing was changed (plan again, review it, "
        "and save it again)\n"
    ) in refused.stdout
    assert snapshot(fresh, name) == edited_by_hand, "the host is untouched"
    assert not (fresh.host_root(name) / "var/db/bsdprov/runs").exists(), "no run was started"
    assert "203.0.113.56" not in fresh.ssh(name, "ifconfig vtnet0").stdout
