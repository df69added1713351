"""The internal-error log: never a traceback, never written through someone's symlink.

It was a fixed name in the shared temp directory: a symlink planted there made bsdprov (often
run as root) overwrite its target, and a name already taken by another user's file (or a
directory) made the error report itself fail with a traceback.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from bsdprov.reporting import reported


@reported
def broken() -> None:
    raise RuntimeError("boom")


@pytest.fixture
def tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("BSDPROV_TRACEBACK", raising=False)
    return tmp_path


def logged(message: str) -> Path:
    return Path(message.split("the traceback is in ", 1)[1].split(";", 1)[0])


def test_a_planted_symlink_is_not_followed(tmp: Path) -> None:
    target = tmp / "precious"
    target.write_text("keep me\n")
    (tmp / "bsdprov-internal-error.log").symlink_to(target)
    with pytest.raises(Exit) as exc:
        broken()
    assert target.read_text() == "keep me\n"
    log = logged(str(exc.value.message))
    assert "RuntimeError: boom" in log.read_text()
    assert log.stat().st_mode & 0o077 == 0, "a traceback may name hosts and paths"


def test_a_taken_name_still_reports_the_error(tmp: Path) -> None:
    (tmp / "bsdprov-internal-error.log").mkdir()
    with pytest.raises(Exit) as exc:
        broken()
    assert "internal error: RuntimeError: boom" in str(exc.value.message)


def test_an_unwritable_temp_directory_still_reports_the_error(tmp: Path) -> None:
    tempfile.tempdir = str(tmp / "missing")
    with pytest.raises(Exit) as exc:
        broken()
    assert exc.value.code == 1
    assert "internal error: RuntimeError: boom" in str(exc.value.message)
