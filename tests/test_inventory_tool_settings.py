"""The inventory's ``defaults:`` for the command's settings (issue 17): ``parallel`` and
``confirm_timeout`` there come below the flag, the environment and bsdprov.yaml, above the
built-in default; a bad value is refused naming the file, line, key and value, as bsdprov.yaml's
are; the hosts never inherit them and a group's vars may not hold them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov import settings
from bsdprov.errors import ExitCode, InventoryError
from bsdprov.inventory import parse_inventory
from tests import test_tasks_api
from tests.test_tasks import EXAMPLE, run
from tests.test_tasks_api import Fleet

fleet = test_tasks_api.fleet
ROOT = Path(__file__).parents[1]
EXAMPLE_TEXT = (ROOT / EXAMPLE).read_text()


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for variable in (*settings.ENVIRONMENT.values(), "BSDPROV_CONFIG"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def inventory_with(here: Path, lines: str) -> Path:
    """The example inventory with ``lines`` added under its ``defaults:``."""
    path = here / "fleet.yaml"
    path.write_text(EXAMPLE_TEXT.replace("defaults:\n", f"defaults:\n{lines}", 1))
    return path


def sent_timeout(fleet: Fleet) -> str:
    """The confirm timeout the run uploaded to web01 carries."""
    (upload,) = [u for s in fleet.hosts["web01"].sessions for u in s.uploads]
    text = b"".join(upload.files.values()).decode()
    return text.split("confirm_timeout=", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize(
    ("file", "environment", "flag", "expected"),
    [
        (None, None, None, "300"),  # the inventory's, over the built-in 120
        ("confirm_timeout: 200\n", None, None, "200"),  # bsdprov.yaml over the inventory
        ("confirm_timeout: 200\n", "150", None, "150"),  # the environment over both
        ("confirm_timeout: 200\n", "150", "100", "100"),  # the flag over everything
    ],
)
def test_the_inventorys_confirm_timeout_comes_below_flag_environment_and_file(
    here: Path,
    fleet: Fleet,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    file: str | None,
    environment: str | None,
    flag: str | None,
    expected: str,
) -> None:
    fleet.add("web01")
    inventory = inventory_with(here, "  confirm_timeout: 300\n")
    if file:
        (here / "bsdprov.yaml").write_text(file)
    if environment:
        monkeypatch.setenv("BSDPROV_CONFIRM_TIMEOUT", environment)
    extra = ["--confirm-timeout", flag] if flag else []
    code, _, _ = run(capsys, "deploy", "--host", "web01", "--yes", "-i", str(inventory), *extra)
    assert code == ExitCode.OK
    assert sent_timeout(fleet) == expected


def test_without_any_setting_the_built_in_timeout_is_sent(
    here: Path, fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.add("web01")
    code, _, _ = run(capsys, "deploy", "--host", "web01", "--yes", "-i", str(ROOT / EXAMPLE))
    assert code == ExitCode.OK and sent_timeout(fleet) == "120"


def test_parallel_follows_the_same_order(here: Path) -> None:
    mine = parse_inventory("defaults:\n  parallel: 3\nhosts: {}\n", "fleet.yaml").settings
    assert settings.whole("parallel", None, mine) == 3
    (here / "bsdprov.yaml").write_text("parallel: 7\n")
    assert settings.whole("parallel", None, mine) == 7
    assert settings.whole("parallel", 2, mine) == 2


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("  parallel: 0\n", "4: defaults.parallel: 0 is below 1 (the hosts worked on at once)"),
        ("  parallel: many\n", "4: defaults.parallel: 'many' is not a whole number"),
        ("  parallel: true\n", "4: defaults.parallel: True is not a whole number"),
        ("  confirm_timeout: 5\n", "4: defaults.confirm_timeout: 5 is below 10 seconds"),
        ("  confirm_timeout: 90000\n", "4: defaults.confirm_timeout: 90000 is above 86400"),
        (
            "  confirm_timout: 300\n",
            "4: defaults.confirm_timout: unknown key 'confirm_timout'; "
            "did you mean 'confirm_timeout'?",
        ),
    ],
)
def test_a_bad_setting_is_refused_naming_file_line_key_and_value(
    here: Path, capsys: pytest.CaptureFixture[str], lines: str, message: str
) -> None:
    inventory = inventory_with(here, lines)
    code, out, err = run(capsys, "check", "-i", str(inventory))
    assert (code, out) == (ExitCode.USAGE, "")
    assert err.startswith(f"{inventory}:{message}")


def test_the_same_value_in_bsdprov_yaml_gets_the_same_words(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (here / "bsdprov.yaml").write_text("confirm_timeout: 5\n")
    code, _, err = run(capsys, "deploy", "--host", "web01", "--yes", "-i", str(ROOT / EXAMPLE))
    assert code == ExitCode.USAGE
    assert err.startswith("bsdprov.yaml: confirm_timeout: 5 is below 10 seconds")


def test_hosts_do_not_inherit_them_and_groups_may_not_set_them() -> None:
    loaded = parse_inventory(
        "defaults:\n  user: admin\n  parallel: 4\nhosts:\n  a: {}\n", "fleet.yaml"
    )
    assert loaded.settings == {"parallel": 4}
    assert loaded.hosts["a"].user == "admin"
    with pytest.raises(InventoryError) as caught:
        parse_inventory("groups:\n  g: {vars: {confirm_timeout: 300}}\nhosts: {}\n", "f.yaml")
    assert str(caught.value) == (
        "f.yaml:2: groups.g.vars.confirm_timeout: 'confirm_timeout' is a setting of the "
        "command, not of a host: only the top-level 'defaults:' takes it"
    )


def test_no_confirm_runs_whatever_timeout_the_environment_sets_for_other_runs(
    here: Path, fleet: Fleet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A timeout below the host's least is refused when there is a timer; with --no-confirm
    # there is none, and a value exported for other runs must not refuse this one (attack on
    # issue 17). A bsdprov.yaml holding it is a bad file, refused whatever the run.
    fleet.add("web01")
    monkeypatch.setenv("BSDPROV_CONFIRM_TIMEOUT", "5")
    argv = ("deploy", "--host", "web01", "--yes", "--no-confirm", "-i", str(ROOT / EXAMPLE))
    code, _, err = run(capsys, *argv)
    assert code == ExitCode.OK, err
    assert sent_timeout(fleet) == "0"
    code, _, err = run(capsys, *[a for a in argv if a != "--no-confirm"])
    assert code == ExitCode.USAGE and "confirm_timeout: 5 is below 10" in err
