"""Where the boot hook goes in an admin's /etc/rc.local (issue 11 review): every BSD runs the
file as shell (OpenBSD /etc/rc: ``sh /etc/rc.local``; FreeBSD and NetBSD rc.d/local:
``. /etc/rc.local``), so a line after an ``exit`` (the classic ``exit 0`` last line) never
runs. The hook goes before the admin's first command, and a hook an earlier release appended is
moved up."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bsdprov.boot_hook import BOOT_HOOK, RC_LOCAL, hooked_rc_local, with_boot_hook
from bsdprov.facts import ObservedFile
from bsdprov.plan import FileChange, Plan


def hook_runs(rc_local: str, tmp_path: Path) -> bool:
    """Whether the hook line runs when sh runs ``rc_local`` (its txn.sh call made a marker)."""
    marker = tmp_path / "ran"
    script = rc_local.replace(BOOT_HOOK, f": > {marker}")
    (tmp_path / "rc.local").write_text(script)
    subprocess.run(["sh", str(tmp_path / "rc.local")], check=False, capture_output=True)
    return marker.exists()


@pytest.mark.onhost  # runs the hooked rc.local under sh
@pytest.mark.parametrize(
    "admin",
    [
        "#!/bin/sh\n# local daemons\necho starting\nexit 0\n",
        "#!/bin/sh\n\nexit 0",  # no newline at the end
        "[ -x /usr/local/bin/foo ] || exit 0\n/usr/local/bin/foo\n",
        "#!/bin/sh\nif [ -f /nonexistent ]; then echo x; fi\nexit 1\n",
    ],
)
def test_the_hook_runs_even_when_rc_local_exits_early(admin: str, tmp_path: Path) -> None:
    after = hooked_rc_local(admin)
    assert hook_runs(after, tmp_path), after
    assert [line for line in after.splitlines() if line != BOOT_HOOK] == admin.splitlines()


def test_the_header_stays_first_and_the_hook_comes_before_the_first_command() -> None:
    admin = "#!/bin/sh\n#\n# $OpenBSD: rc.local,v$\n\nset -e\nexit 0\n"
    assert hooked_rc_local(admin) == (
        f"#!/bin/sh\n#\n# $OpenBSD: rc.local,v$\n\n{BOOT_HOOK}\nset -e\nexit 0\n"
    )
    assert hooked_rc_local(None) == BOOT_HOOK + "\n"
    assert hooked_rc_local("#!/bin/sh") == f"#!/bin/sh\n{BOOT_HOOK}\n"


def test_a_hook_an_earlier_release_appended_after_exit_is_moved_up() -> None:
    old = f"#!/bin/sh\necho hi\nexit 0\n{BOOT_HOOK}\n"
    plan = Plan(
        "h",
        "openbsd",
        (FileChange("/etc/x", ObservedFile("/etc/x", None), "x\n", 0o644, "root", "wheel"),),
        (),
        (),
        (),
    )
    observed = {RC_LOCAL: ObservedFile(RC_LOCAL, old, 0o755, "root", "wheel")}
    change = with_boot_hook(plan, observed).changes[0]
    assert change.path == RC_LOCAL
    assert change.after == f"#!/bin/sh\n{BOOT_HOOK}\necho hi\nexit 0\n"
    assert (change.mode, change.owner) == (0o755, "root")
    placed = {RC_LOCAL: ObservedFile(RC_LOCAL, change.after, 0o755, "root", "wheel")}
    assert with_boot_hook(plan, placed) == plan
