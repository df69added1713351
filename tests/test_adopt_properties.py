"""parse(render(host)) is the host in normal form, for random valid hosts of every OS: the
import's parsers stay the inverse of the renderers beyond the written examples."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bsdprov.adopt import import_host, public_entry
from bsdprov.adopt.normal import normal_form
from bsdprov.errors import InventoryError
from bsdprov.inventory import parse_inventory
from bsdprov.model import Host
from bsdprov.render import file_content, render_host

V4 = ["192.0.2.10/24", "192.0.2.11/32", "203.0.113.5/32", "198.51.100.7/24"]
V6 = ["2001:db8::10/64", "2001:db8::11/64", "2001:db8:5::1/48"]


@st.composite
def interfaces(draw: st.DrawFn) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in draw(st.sets(st.sampled_from(["em0", "em1"]), min_size=1)):
        itf: dict[str, Any] = {}
        addresses = draw(st.lists(st.sampled_from(V4 + V6), max_size=3, unique=True))
        if addresses:
            itf["addresses"] = addresses
        for key, values in (
            ("dhcp", st.booleans()),
            ("autoconf6", st.booleans()),
            ("up", st.sampled_from([True, False])),
            ("description", st.sampled_from(["uplink", "trunk (rack 4)"])),
            ("mac", st.sampled_from(["02:00:00:aa:bb:01", "02-00-5E-10-00-01"])),
            ("mtu", st.sampled_from([1280, 1500, 9000])),
        ):
            if draw(st.booleans()):
                itf[key] = draw(values)
        found[name] = itf
    if draw(st.booleans()) and "em1" in found:
        found["vlan10"] = {"parent": "em1", "vlan": 10}
        if draw(st.booleans()):
            found["vlan10"]["addresses"] = ["10.10.0.1/24"]
    if draw(st.booleans()):
        found["bridge0"] = {"members": [draw(st.sampled_from(sorted(found)))]}
    if draw(st.booleans()):
        found["gif0"] = {
            "tunnel": {"local": "192.0.2.10", "remote": "198.51.100.200"},
            "addresses": ["2001:db8:1::2/64"],
            "peer": "2001:db8:1::1",
        }
    return found


ROUTES = st.lists(
    st.sampled_from(
        [
            {"to": "default", "via": "192.0.2.1"},
            {"to": "default", "via": "198.51.100.1", "onlink": True},
            {"to": "default", "via": "2001:db8::1"},
            {"to": "default", "via": "fe80::1", "interface": "em0"},
            {"to": "10.0.0.0/8", "via": "192.0.2.254"},
            {"to": "2001:db8:200::/48", "via": "2001:db8::1"},
        ]
    ),
    max_size=3,
    unique_by=lambda r: (r["to"], ":" in r["via"]),  # type: ignore[index]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    os=st.sampled_from(["openbsd", "freebsd", "netbsd"]),
    itfs=interfaces(),
    routes=st.one_of(st.none(), ROUTES),
    hostname=st.sampled_from([None, "h1.example.org"]),
    release=st.sampled_from([None, "6.8", "9.3", "14.1"]),
)
def test_parse_of_render_is_the_host_in_normal_form(
    os: str,
    itfs: dict[str, Any],
    routes: list[dict[str, Any]] | None,
    hostname: str | None,
    release: str | None,
) -> None:
    entry: dict[str, Any] = {"os": os, "interfaces": itfs}
    if routes is not None:
        entry["routes"] = routes
    if hostname:
        entry["hostname"] = hostname
    try:
        inventory = parse_inventory(yaml.safe_dump({"hosts": {"h": entry}}), "random")
    except InventoryError:
        assume(False)
        return
    host = inventory.hosts["h"]
    rendered = render_host(host, os, release)
    files = {spec.path: file_content(spec, None) for spec in rendered.files}
    imported = import_host("h", os, release, files)
    back = Host.model_validate({"name": "h", **public_entry(imported)})
    assert normal_form(back, os) == normal_form(host, os)
    assert imported.notes == ()
