"""The probe's live-state section (bsdprov/drift.py), run for real under several shells: each
command's output and exit status come back whole, a missing one included."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bsdprov.drift import Output, live_section, outputs_by_command, unread
from bsdprov.facts import parse_facts, probe_script
from tests.onhost.harness import SHELLS

pytestmark = pytest.mark.onhost


@pytest.mark.parametrize("shell", SHELLS, ids=[" ".join(s) for s in SHELLS])
def test_the_live_section_reports_each_output_and_status(shell: list[str], tmp_path: Path) -> None:
    tool = tmp_path / "showif"
    # No newline at the end, a blank line and a line that looks like the end marker's start.
    tool.write_text(
        "#!/bin/sh\nprintf 'vio0: flags=8843<UP>\\n\\n\\tinet 192.0.2.10 x\\n drift-end 0 0'\n"
    )
    tool.chmod(0o755)
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho 'ifconfig: vio1: no such interface' >&2\nexit 1\n")
    failing.chmod(0o755)
    commands = ((str(tool), "vio0"), (str(failing), "vio1"), (str(tmp_path / "absent"),))
    script = probe_script([], drift=live_section(commands))
    out = subprocess.run(shell, input=script.encode(), capture_output=True, check=True).stdout
    lines = out.split(b"\n")
    lines[1] = b"uname OpenBSD 7.6 amd64"
    facts = parse_facts(b"\n".join(lines), "h")
    outputs = outputs_by_command(commands, facts.drift)
    assert outputs[commands[0]] == Output(
        ("vio0: flags=8843<UP>", "", "\tinet 192.0.2.10 x", " drift-end 0 0"), 0
    )
    assert outputs[commands[1]] == Output(("ifconfig: vio1: no such interface",), 1)
    # A command the shell cannot find read nothing: unknown, not drift, and the plan says so.
    assert commands[2] not in outputs
    assert unread(commands, facts.drift) == (
        f"live state not checked: '{tmp_path / 'absent'}' could not run (exit 127: not found)",
    )
