"""``import --write`` into inventories an admin keeps: nothing of theirs is lost, and a file
that cannot be written gives one clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.testing import FakeTransport
from tests.test_adopt_task import fake  # noqa: F401  (the fixture)
from tests.test_tasks import run

ARGS = ("import", "--host", "new1", "--address", "192.0.2.50", "--write")


def test_a_comment_inside_a_flow_mapping_stops_the_write(
    capsys: pytest.CaptureFixture[str],
    fake: FakeTransport,  # noqa: F811
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "inventory.yaml"
    before = "# fleet\nhosts: {\n  old1: {os: openbsd},  # the old router\n}\n"
    inventory.write_text(before)
    code, out, err = run(capsys, *ARGS, "-i", str(inventory))
    assert code == ExitCode.USAGE, out + err
    assert "would lose the comment '# the old router'" in err
    assert inventory.read_text() == before, "nothing written"
    assert not (tmp_path / "inventory.yaml.bak").exists()


def test_an_unwritable_inventory_is_one_clear_message(
    capsys: pytest.CaptureFixture[str],
    fake: FakeTransport,  # noqa: F811
    tmp_path: Path,
) -> None:
    inventory = tmp_path / "inventory.yaml"
    before = "hosts:\n  old1: {os: openbsd}\n"
    inventory.write_text(before)
    # The temporary file's place is taken (a directory): the write fails, as on a full or
    # read-only disk (root ignores permission bits, so the test cannot use chmod).
    (tmp_path / ".inventory.yaml.import-tmp").mkdir()
    code, out, err = run(capsys, *ARGS, "-i", str(inventory))
    assert code != ExitCode.OK
    assert "Traceback" not in out + err
    assert str(tmp_path) in err, err
    assert inventory.read_text() == before
