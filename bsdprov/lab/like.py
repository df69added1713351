"""A lab shaped like an inventory (``lab.up --like``): its hosts, and the inventory to reach them.

Pure: ``plan_like`` turns a loaded inventory into lab hosts (same names, OS and release, every
physical interface the inventory names, a management address taken from the inventory where it
has a static one), and ``rewrite_inventory`` turns the inventory's text into one whose hosts are
the lab's. Nothing here reads files or starts hosts; ``manager.up_like_lab`` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, ip_address
from pathlib import Path

import yaml

from bsdprov.errors import InventoryError, Problem
from bsdprov.inventory import Inventory
from bsdprov.lab.hosts import OS_PROFILES, HostSpec, management_address
from bsdprov.model import Host

LOOPBACK = "127.0.0.1"

# The interface types each OS can clone, as the fakes' `ifconfig -C` lists them (lab_cloners in
# fakes/common/usr/libexec/lab/lib.sh). Any other name is a physical NIC the host must have.
_CLONER_NAMES = {
    "openbsd": "aggr bpe bridge carp egre enc eoip etherip gif gre lo mgre mpe mpip mpw nvgre pair "
    "pflog pflow pfsync ppp pppoe svlan tap tpmr trunk tun veb vether vlan vport vxlan wg",
    "freebsd": "bridge carp disc edsc enc epair gif gre lagg lo me ovpn stf tap tun vlan vxlan wg",
    "netbsd": "agr bridge carp gif gre gretap ipsecif l2tp lagg lo npflog pair ppp pppoe sl stf "
    "tap tun vether vlan wg",
}
CLONERS = {os_key: frozenset(names.split()) for os_key, names in _CLONER_NAMES.items()}


@dataclass(frozen=True, slots=True)
class LikePlan:
    """The lab hosts for an inventory, and what was left out (one message per host)."""

    specs: tuple[HostSpec, ...]
    skipped: tuple[str, ...]
    notes: tuple[str, ...]


def is_physical(os_key: str, ifname: str) -> bool:
    """Whether ``ifname`` is a NIC (not a cloned interface, nor FreeBSD's ``em0.10`` vlan)."""
    driver = ifname.rstrip("0123456789")
    return "." not in ifname and driver != ifname and driver not in CLONERS[os_key]


def physical_interfaces(host: Host) -> tuple[str, ...]:
    """The NICs the inventory names for ``host``, in inventory order."""
    assert host.os is not None
    return tuple(name for name in host.interfaces if is_physical(host.os, name))


def _static_ipv4(host: Host, name: str) -> tuple[IPv4Interface, ...]:
    return tuple(a for a in host.interfaces[name].static(4) if isinstance(a, IPv4Interface))


def _default_gateway(host: Host) -> IPv4Address | None:
    for route in host.routes or ():
        if route.is_default and isinstance(route.via, IPv4Address):
            return route.via
    return None


def management_of(host: Host) -> tuple[str, IPv4Interface] | None:
    """The NIC and address SSH reaches ``host`` on, from its inventory; None if it has none.

    The NIC holding the host's ``address`` when that is an IP, else the first NIC with a
    static IPv4 address.
    """
    nics = physical_interfaces(host)
    try:
        wanted = ip_address(host.address) if host.address else None
    except ValueError:
        wanted = None  # a DNS name
    for name in nics:
        for address in _static_ipv4(host, name):
            if address.ip == wanted:
                return name, address
    for name in nics:
        for address in _static_ipv4(host, name):
            return name, address
    return None


def spare_nic(os_key: str, taken: Sequence[str]) -> str:
    """A NIC name for a lab-only management interface: the OS's usual one, or its next unit."""
    driver = OS_PROFILES[os_key].interface.rstrip("0123456789")
    unit = 0
    while f"{driver}{unit}" in taken:
        unit += 1
    return f"{driver}{unit}"


def plan_like(inventory: Inventory) -> LikePlan:
    """One lab host per inventory host that has an ``os``, in inventory order."""
    specs: list[HostSpec] = []
    skipped: list[str] = []
    notes: list[str] = []
    for host in inventory.hosts.values():
        if host.os is None:
            skipped.append(f"host {host.name!r} has no 'os': left out of the lab")
            continue
        nics = physical_interfaces(host)
        planned_address, planned_gateway = management_address(len(specs) + 1)
        found = management_of(host)
        if found is None:
            interface = spare_nic(host.os, nics)
            address, gateway = planned_address, planned_gateway
            notes.append(
                f"host {host.name!r}: no static IPv4 address in the inventory; the lab reaches "
                f"it on {interface} {address}"
            )
        else:
            interface, address = found
            gateway = _default_gateway(host) or planned_gateway
        extra = tuple(name for name in nics if name != interface)
        lab_only = found is None
        specs.append(
            HostSpec(host.name, host.os, interface, address, gateway, extra, host.release, lab_only)
        )
    return LikePlan(tuple(specs), tuple(skipped), tuple(notes))


@dataclass(frozen=True, slots=True)
class LabEndpoint:
    """Where a lab host's sshd is and the key it proves itself with."""

    port: int
    host_key: str


def rewrite_inventory(
    text: str,
    source: str,
    endpoints: Mapping[str, LabEndpoint],
    ssh_config: Path,
) -> str:
    """``text`` (an inventory) with its hosts pointing at the lab's, ready to load.

    Hosts in ``endpoints`` get the lab's ``address``, ``port``, ``host_key`` and
    ``ssh_config``, log in as root without ``become`` (the lab's only login), and lose ``via``
    (here and in defaults and group vars). Every other key is copied as written, so keys this
    module does not know pass through. Other hosts are dropped, with their group memberships.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InventoryError([Problem(source, None, "", f"invalid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        data = {}
    result: dict[object, object] = {}
    for key, value in data.items():
        if key == "defaults" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "via"}
        elif key == "groups" and isinstance(value, dict):
            value = {name: _group(group, endpoints) for name, group in value.items()}
        elif key == "hosts" and isinstance(value, dict):
            value = {
                name: _host(raw, endpoints[name], ssh_config)
                for name, raw in value.items()
                if name in endpoints
            }
        result[key] = value
    header = (
        f"# Written by bsdprov's lab.up --like {source}; rewritten on every lab.up and lab.reset.\n"
        "# The hosts are the lab's, on 127.0.0.1; their network keys are the source's. `via` is\n"
        "# removed: lab hosts have no network between them, so a jump host cannot forward.\n"
        "# Every host logs in as root without become, the lab's only login.\n"
    )
    left_out = sorted(str(n) for n in (data.get("hosts") or {}) if n not in endpoints)
    if left_out:
        header += f"# Left out (no 'os'): {', '.join(left_out)}.\n"
    return header + yaml.safe_dump(result, sort_keys=False, default_flow_style=None, width=200)


def _group(group: object, endpoints: Mapping[str, LabEndpoint]) -> object:
    if not isinstance(group, dict):
        return group
    group = dict(group)
    if isinstance(group.get("hosts"), list):
        group["hosts"] = [h for h in group["hosts"] if h in endpoints]
    if isinstance(group.get("vars"), dict):
        group["vars"] = {k: v for k, v in group["vars"].items() if k != "via"}
    return group


def _host(raw: object, endpoint: LabEndpoint, ssh_config: Path) -> dict[object, object]:
    own = raw if isinstance(raw, dict) else {}
    connection: dict[object, object] = {
        "address": LOOPBACK,
        "port": endpoint.port,
        "user": "root",
        "become": "none",
        "ssh_config": str(ssh_config),
        "host_key": endpoint.host_key,
    }
    rest = {k: v for k, v in own.items() if k not in connection and k != "via"}
    return {**connection, **rest}
