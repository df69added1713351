"""Properties over random inventories: no traceback ever; renders are stable and inert."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsdprov.errors import BsdprovError, InventoryError
from bsdprov.inventory import parse_inventory
from bsdprov.model import OS_NAMES
from bsdprov.render import file_content, render_host

KEYS = [
    "defaults",
    "groups",
    "hosts",
    "vars",
    "address",
    "port",
    "user",
    "become",
    "os",
    "interfaces",
    "routes",
    "addresses",
    "dhcp",
    "mtu",
    "mac",
    "to",
    "via",
    "onlink",
    "members",
    "parent",
    "vlan",
    "tunnel",
    "local",
    "remote",
    "peer",
    "description",
    "em0",
    "vio0",
    "vlan10",
    "bridge0",
    "gif0",
    "web01",
    "default",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.text(max_size=12),
    st.sampled_from(
        [
            "192.0.2.1",
            "192.0.2.1/24",
            "2001:db8::1/64",
            "default",
            "openbsd",
            "02:00:00:00:00:01",
            "$(reboot)",
            "fe80::1",
            "10.0.0.0/8",
            "em0",
        ]
    ),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=30,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_random_structures_never_raise_anything_but_inventory_errors(tree: object) -> None:
    try:
        parse_inventory(yaml.safe_dump(tree), "random.yaml")
    except InventoryError as exc:
        assert exc.problems and all(str(p).startswith("random.yaml") for p in exc.problems)


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_random_text_never_raises_anything_but_inventory_errors(text: str) -> None:
    with contextlib.suppress(InventoryError):
        parse_inventory(text, "random.yaml")


def v4_host_addresses() -> st.SearchStrategy[str]:
    return st.builds(
        lambda n, p: f"{ipaddress.IPv4Address(0xC6336400 + n)}/{p}",
        st.integers(1, 200),
        st.sampled_from([24, 28, 32]),
    )


INTERFACE = st.fixed_dictionaries(
    {},
    optional={
        "addresses": st.lists(v4_host_addresses(), max_size=3, unique=True),
        "description": st.from_regex(r"[A-Za-z0-9 _.,:/@+=()#-]{1,20}", fullmatch=True),
        "mtu": st.integers(1280, 9000),
        "mac": st.sampled_from(["02:00:00:00:00:01", "02-00-00-00-00-02"]),
        "up": st.booleans(),
    },
)
HOST = st.fixed_dictionaries(
    {
        "os": st.sampled_from(OS_NAMES),
        "interfaces": st.dictionaries(
            st.sampled_from(["em0", "em1", "vio0"]), INTERFACE, min_size=1, max_size=3
        ),
    },
    optional={
        "routes": st.lists(
            st.fixed_dictionaries(
                {
                    "to": st.just("default"),
                    "via": st.sampled_from(["198.51.100.1", "198.51.100.77"]),
                },
                optional={"onlink": st.booleans(), "interface": st.sampled_from(["em0", "vio0"])},
            ),
            max_size=1,
        )
    },
)


@settings(max_examples=300)
@given(HOST)
def test_valid_hosts_render_identically_twice_and_nothing_is_shell_active(
    host: dict[str, Any],
) -> None:
    try:
        inventory = parse_inventory(yaml.safe_dump({"hosts": {"h1": host}}), "h.yaml")
    except InventoryError:
        return
    (parsed,) = inventory.hosts.values()
    try:
        first, second = render_host(parsed), render_host(parsed)
    except BsdprovError:
        return
    assert first == second
    for spec in first.files:
        text = file_content(spec)
        assert text == "" or (text.endswith("\n") and not text.endswith("\n\n"))
        for line in text.splitlines():
            assert line == line.rstrip()
            assert "`" not in line and "$(" not in line and ";" not in line
            assert "$" not in line.replace("$if", "")
    for step in first.steps + first.checks:
        assert all(arg and "\n" not in arg for arg in step.argv)
