"""Defaults in a file (issue 17): bsdprov.yaml sets inventory, parallel and confirm_timeout;
a flag beats the environment, which beats the file, which beats the built-in default; a bad file
is refused naming file, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov import settings
from bsdprov.errors import ExitCode, UsageError
from tests.test_tasks import EXAMPLE, run

ROOT = Path(__file__).parents[1]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for variable in (*settings.ENVIRONMENT.values(), "BSDPROV_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def test_flag_beats_environment_beats_file_beats_built_in(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.whole("parallel", None) == 10
    (here / "bsdprov.yaml").write_text("parallel: 20\nconfirm_timeout: 300\n")
    assert settings.whole("parallel", None) == 20
    assert settings.whole("confirm_timeout", None) == 300
    monkeypatch.setenv("BSDPROV_PARALLEL", "30")
    assert settings.whole("parallel", None) == 30
    assert settings.whole("parallel", 40) == 40


def test_the_files_inventory_is_read_by_the_command(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "bsdprov.yaml").write_text(f"inventory: {ROOT / EXAMPLE}\n")
    code, out, _ = run(capsys, "check")
    assert code == ExitCode.OK and out.endswith("example.yaml: 8 hosts, no problems\n")


def test_a_relative_inventory_is_the_config_files_neighbour(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = here / "team" / "bsdprov.yaml"
    config.parent.mkdir()
    config.write_text("inventory: prod.yaml\n")
    monkeypatch.setenv("BSDPROV_CONFIG", str(config))
    assert settings.inventory(None) == str(here / "team" / "prod.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("confirm_timout: 300\n", "unknown key 'confirm_timout'; did you mean"),
        ("parallel: many\n", "parallel: 'many' is not a whole number"),
        ("- parallel\n", "expected keys"),
    ],
)
def test_a_bad_file_is_refused_naming_file_key_and_value(
    here: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (here / "bsdprov.yaml").write_text(text)
    code, out, err = run(capsys, "check")
    assert (code, out) == (ExitCode.USAGE, "")
    assert err.startswith("bsdprov.yaml: ") and message in err


def test_a_bad_environment_value_is_named(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BSDPROV_CONFIRM_TIMEOUT", "2m")
    with pytest.raises(UsageError, match=r"\$BSDPROV_CONFIRM_TIMEOUT: confirm_timeout: '2m'"):
        settings.whole("confirm_timeout", None)
