"""Issue 11 item 9: YAML that would grow without bound or recurse is refused with FILE:LINE and
exit 2, quickly and without a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bsdprov.errors import ExitCode
from bsdprov.inventory import MAX_BYTES, parse_inventory
from tests.test_tasks import run

# The classic "billion laughs": nine levels of nine aliases, 9**9 strings once expanded.
LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)

CASES = {
    "billion-laughs": (LAUGHS, "6: aliases expand the inventory to more than 200000 values"),
    "recursive-alias": (
        "hosts: &h {web01: *h}\n",
        "1: alias *h refers to a value that contains it",
    ),
    "deep-flow-nesting": (
        "hosts: " + "[" * 5000 + "]" * 5000 + "\n",
        "1: nested deeper than 32 levels",
    ),
    "deep-block-nesting": (
        "".join(f"{'  ' * i}k{i}:\n" for i in range(40)) + "  " * 40 + "v\n",
        "33: nested deeper than 32 levels",
    ),
    "alias-stacking-depth": (
        "a: &a " + "[" * 25 + "]" * 25 + "\nb: &b " + "[" * 10 + "*a" + "]" * 10 + "\n",
        "2: alias *a nests deeper than 32 levels",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_yaml_bomb_is_one_message_with_its_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    text, message = CASES[case]
    inventory = tmp_path / "bomb.yaml"
    inventory.write_text(text)
    started = time.monotonic()
    code, out, err = run(capsys, "check", "-i", str(inventory))
    assert time.monotonic() - started < 5
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == f"{inventory}:{message}\n"


def test_the_billion_laughs_of_the_report_is_small() -> None:
    assert len(LAUGHS) < 400


def test_a_file_over_the_size_limit_is_refused_unread(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    inventory = tmp_path / "big.yaml"
    inventory.write_text("# " + "x" * MAX_BYTES + "\nhosts: {}\n")
    code, _, err = run(capsys, "check", "-i", str(inventory))
    size = inventory.stat().st_size
    assert code == ExitCode.USAGE
    assert (
        err == f"{inventory}: is {size} bytes; an inventory may have at most {MAX_BYTES} (4 MiB)\n"
    )


def test_anchors_and_aliases_within_bounds_still_work() -> None:
    text = (
        "defaults: &d {user: admin}\n"
        "hosts:\n"
        "  web01: {address: 192.0.2.1, os: openbsd, user: admin}\n"
        "groups:\n"
        "  g: {hosts: [web01], vars: *d}\n"
    )
    assert parse_inventory(text, "ok.yaml").hosts["web01"].user == "admin"
