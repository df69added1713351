"""bsdprov.yaml and the environment as hands write them (attack on issue 17): a key written
twice is refused naming the line, not the last one silently taken; a negative number is said to
be below the least, not "not a whole number"."""

from __future__ import annotations

from pathlib import Path

import pytest

from bsdprov import settings
from bsdprov.errors import UsageError
from tests.test_settings import here

__all__ = ["here"]  # the fixture


def test_a_key_written_twice_is_refused_naming_file_and_line(here: Path) -> None:
    (here / "bsdprov.yaml").write_text("parallel: 3\nconfirm_timeout: 300\nparallel: 40\n")
    with pytest.raises(UsageError) as refused:
        settings.whole("parallel", None)
    assert str(refused.value) == "bsdprov.yaml:3: parallel: key appears twice"


@pytest.mark.parametrize("value", ["-1", " -1 ", "0"])
def test_a_number_below_the_least_is_said_so(
    here: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("BSDPROV_PARALLEL", value)
    with pytest.raises(UsageError) as refused:
        settings.whole("parallel", None)
    number = value.strip()
    assert str(refused.value) == (
        f"$BSDPROV_PARALLEL: parallel: {number} is below 1 (the hosts worked on at once)"
    )


def test_the_file_still_reads_as_before(here: Path) -> None:
    (here / "bsdprov.yaml").write_text("# team defaults\nparallel: 20\ninventory: inv.yaml\n")
    assert settings.whole("parallel", None) == 20
    assert settings.inventory(None) == "inv.yaml"
    (here / "bsdprov.yaml").write_text("parallel: [1\n")
    with pytest.raises(UsageError, match=r"^bsdprov.yaml:\d+: .*invalid YAML"):
        settings.whole("parallel", None)


def test_a_misspelt_key_names_the_one_meant(here: Path) -> None:
    (here / "bsdprov.yaml").write_text("confirm_timout: 300\n")
    with pytest.raises(UsageError) as refused:
        settings.whole("confirm_timeout", None)
    assert str(refused.value) == (
        "bsdprov.yaml: unknown key 'confirm_timout'; did you mean 'confirm_timeout'? "
        "the keys are inventory, parallel, confirm_timeout"
    )
