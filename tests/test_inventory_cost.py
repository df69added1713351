"""Hostile inventories within the size bounds must not cost minutes of CPU (issue 11 item 9).

Found by review: thousands of group members naming no host asked difflib for millions of
"did you mean" comparisons (a 135 KB file took 87 s), and a long chain of jump hosts was
walked once per host with a list lookup per hop (cubic: a 1500-host chain took 19 s).
"""

from __future__ import annotations

import difflib
import time
from types import SimpleNamespace
from typing import Any

import pytest

from bsdprov.errors import InventoryError
from bsdprov.inventory import SUGGESTION_BUDGET, parse_inventory
from bsdprov.inventory.checks import jump_host_problems


def test_did_you_mean_work_is_bounded_per_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    compared = 0
    real = difflib.get_close_matches

    def counting(word: str, possibilities: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal compared
        compared += len(possibilities)
        return real(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    n = 400
    hosts = "".join(f"  host{i}:\n    os: openbsd\n" for i in range(n))
    members = "".join(f"      - xhost{i}\n" for i in range(n))
    with pytest.raises(InventoryError) as caught:
        parse_inventory(f"hosts:\n{hosts}groups:\n  g:\n    hosts:\n{members}", "big.yaml")
    problems = caught.value.problems
    # Every unknown member is still reported; the first ones keep their hint.
    assert len(problems) == n
    assert "did you mean 'host0'?" in problems[0].message
    assert compared <= SUGGESTION_BUDGET
    # A second parse has a budget of its own.
    with pytest.raises(InventoryError) as again:
        parse_inventory("hosts:\n  web01:\n    os: openbsd\n    via: web02\n", "small.yaml")
    assert "did you mean 'web01'?" in again.value.problems[0].message


def test_a_long_chain_of_jump_hosts_is_walked_once() -> None:
    n = 3000
    hosts: dict[str, Any] = {
        f"h{i}": SimpleNamespace(via=f"h{i + 1}" if i < n else None) for i in range(n + 1)
    }
    start = time.monotonic()
    found = jump_host_problems(hosts, set(hosts))
    assert found == []
    assert time.monotonic() - start < 5  # was cubic: hours for 3000 hosts

    hosts["h3000"] = SimpleNamespace(via="h2999")  # close a loop at the end of the chain
    found = jump_host_problems(hosts, set(hosts))
    loops = dict(found)
    assert loops["h2999"] == "jump hosts form a loop: h2999 -> h3000 -> h2999"
    assert loops["h0"].startswith("jump hosts form a loop: h0 -> h1 -> h2 -> ")
    assert len(found) == n + 1
