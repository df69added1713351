"""Issue 14 attack: a bhyve guest's name is its vmm(4) instance's (bhyve NAME, /dev/vmm/NAME),
which FreeBSD 13 and 14 cap at VM_MAX_NAMELEN, 32 characters (sys/amd64/include/vmm.h;
vm-bhyve's util::check_name allows as many): a longer one passed check, and bhyve then refused
to start the guest mid-deploy."""

from __future__ import annotations

from typing import Any

import yaml

from tests.test_bhyve import EXAMPLE_PATH
from tests.test_bhyve_zfs import load, problems


def renamed(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_PATH.read_text())
    data["hosts"][name] = data["hosts"].pop("bsd-guest")
    data["groups"]["failover"]["hosts"] = [name, "obsd-guest"]
    data["hosts"][name]["vm"]["disk"]["path"] = f"/var/vm/{name}/disk0.img"
    return data


def test_a_guest_name_longer_than_bhyve_takes_is_refused() -> None:
    name = "customer-mail-frontend.example.org"  # 34 characters
    found = problems(renamed(name))
    assert f"hosts.{name}.vm" in found
    assert "at most 32 characters" in found


def test_a_guest_name_of_32_characters_is_accepted() -> None:
    name = "a" * 22 + ".example1"  # 31
    assert load(renamed(name + "x")).hosts[name + "x"].vm is not None
