"""Guests seen from their hypervisor: each VM resolved against the whole inventory.

A guest describes its own VM (``vm:``); the hypervisor's vm.conf, dhcpd.conf and pf anchors are
rendered from every guest that names it. This module resolves what those files need — the VM's
interface group, its addresses (for anti-spoofing), its fixed DHCP lease, its firewall sources —
and reports what cannot be resolved. Pure: inventory in, facts out.
"""

from __future__ import annotations

import contextlib
import difflib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bsdprov.bhyve import bhyve_problems, loader_of, nic_mac_mismatches
from bsdprov.model import (
    DEFAULT_VM_DISK_DIR,
    FirewallRule,
    Host,
    IPAddress,
    IPNetwork,
    Vm,
    route_interface,
)

# A path inside the inventory and the problem found there, per host.
Problem = tuple[str, tuple[str | int, ...], str]


@dataclass(frozen=True, slots=True)
class Lease:
    """A fixed DHCP address the hypervisor's dhcpd hands to one VM NIC."""

    mac: str
    address: IPAddress
    interface: str  # the hypervisor interface dhcpd serves it on


@dataclass(frozen=True, slots=True)
class Rule:
    """A firewall rule with its sources resolved to addresses and networks."""

    proto: str | None
    ports: tuple[int, ...]
    sources: tuple[IPAddress | IPNetwork, ...]  # empty: from anywhere


@dataclass(frozen=True, slots=True)
class Guest:
    name: str
    vm: Vm
    group: str
    addresses: tuple[IPAddress, ...]
    dhcp: bool
    inet6: bool
    lease: Lease | None
    rules: tuple[Rule, ...] | None
    # SLAAC: the guest's IPv6 addresses are not known in advance (anti-spoofing by prefix).
    autoconf6: bool = False
    # The guest's SSH port when bsdprov reaches it through this hypervisor (``via``): the
    # session starts on the hypervisor, so the VM's pf policy must let it out.
    jump_port: int | None = None
    # The boot loader a bhyve hypervisor gives it (bhyve.loader_of); None for vmd.
    loader: str | None = None


def interface_group(name: str) -> str:
    """The interface group of a VM's taps: at most 15 characters, never ending in a digit
    (pf and ifconfig read a trailing digit as an interface unit)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:12] + "_vm"


def host_addresses(host: Host) -> tuple[IPAddress, ...]:
    """The addresses a host is known by: its static interface addresses and fixed DHCP
    addresses, else its address."""
    found = [a.ip for itf in host.interfaces.values() for a in itf.addresses]
    found += [nic.address for nic in (host.vm.nics if host.vm else ()) if nic.address]
    if not found and host.address is not None:
        with contextlib.suppress(ValueError):
            found.append(ipaddress.ip_address(host.address))
    return tuple(found)


def uplink_interface(host: Host) -> str | None:
    """The interface the SSH session most likely arrives on: the one holding the host's
    address, else the one its IPv4 default route leaves through."""
    for name, itf in host.interfaces.items():
        if any(str(a.ip) == host.address for a in itf.addresses):
            return name
    default = next((r for r in host.routes or () if r.is_default and r.version == 4), None)
    return route_interface(host, default) if default else None


def served_subnet(hypervisor: Host, ifname: str) -> ipaddress.IPv4Interface | None:
    itf = hypervisor.interfaces.get(ifname)
    static = itf.static(4) if itf else ()
    return static[0] if static else None  # type: ignore[return-value]


def dhcp_interface(hypervisor: Host, switch: str) -> str | None:
    """The DHCP-served interface that is a member of ``switch``'s bridge, if any."""
    bridge = hypervisor.interfaces.get(hypervisor.switches.get(switch, ""))
    members = bridge.members if bridge else ()
    return next((m for m in members if m in hypervisor.dhcp_server), None)


def _lease(guest: Host, hypervisor: Host) -> Lease | None:
    """The VM's fixed DHCP lease: a NIC's ``address``, else, for a DHCP guest, its
    ``address`` when that lies in a subnet its hypervisor serves on the NIC's switch."""
    leases = _leases(guest, hypervisor)
    return leases[0][1] if leases else None


def _leases(guest: Host, hv: Host) -> list[tuple[int, Lease, ipaddress.IPv4Interface]]:
    vm = guest.vm
    found = []
    explicit = vm is not None and any(nic.address for nic in vm.nics)
    dhcp = any(itf.dhcp for itf in guest.interfaces.values())
    for i, nic in enumerate(vm.nics if vm else ()):
        served = dhcp_interface(hv, nic.switch)
        subnet = served_subnet(hv, served) if served else None
        if served is None or subnet is None or nic.mac is None:
            continue
        if explicit and nic.address is not None:
            found.append((i, Lease(nic.mac, nic.address, served), subnet))
        elif not explicit and dhcp and guest.address is not None:
            try:
                address = ipaddress.ip_address(guest.address)
            except ValueError:
                continue
            if address in subnet.network:
                found.append((i, Lease(nic.mac, address, served), subnet))
                break
    return found


def _resolve(rule: FirewallRule, hosts: Mapping[str, Host]) -> tuple[Rule | None, str | None]:
    sources: list[IPAddress | IPNetwork] = []
    for source in rule.sources or ():
        if source in hosts:
            addresses = host_addresses(hosts[source])
            if not addresses:
                return None, f"host {source!r} has no address to allow traffic from"
            sources += addresses
        elif source[:1].isdigit() or ":" in source:
            sources.append(
                ipaddress.ip_network(source) if "/" in source else ipaddress.ip_address(source)
            )
        else:
            close = difflib.get_close_matches(source, list(hosts), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return None, f"{source!r} is no host of the inventory, nor an address or network{hint}"
    return Rule(rule.proto, rule.port or (), tuple(sources)), None


def resolve_guest(guest: Host, hypervisor: Host, hosts: Mapping[str, Host]) -> Guest:
    """The guest's VM as its hypervisor renders it (call after ``guest_problems`` is clean)."""
    vm = guest.vm
    assert vm is not None
    lease = _lease(guest, hypervisor)
    addresses = host_addresses(guest) if not lease else (lease.address,)
    rules = None
    if vm.firewall is not None:
        rules = tuple(r for r in (_resolve(rule, hosts)[0] for rule in vm.firewall) if r)
    inet6 = any(itf.autoconf6 or itf.static(6) for itf in guest.interfaces.values())
    dhcp = any(itf.dhcp for itf in guest.interfaces.values())
    autoconf6 = any(itf.autoconf6 for itf in guest.interfaces.values())
    jump_port = guest.port if guest.via == hypervisor.name else None
    loader = loader_of(guest) if hypervisor.bhyve is not None else None
    return Guest(
        guest.name,
        vm,
        interface_group(guest.name),
        addresses,
        dhcp,
        inet6,
        lease,
        rules,
        autoconf6,
        jump_port,
        loader,
    )


def guests_of(hosts: Mapping[str, Host], hypervisor: str) -> tuple[Guest, ...]:
    """Every guest naming ``hypervisor``, in inventory order."""
    hv = hosts[hypervisor]
    return tuple(
        resolve_guest(h, hv, hosts)
        for h in hosts.values()
        if h.vm is not None and h.vm.hypervisor == hypervisor
    )


def guest_problems(hosts: Mapping[str, Host]) -> list[Problem]:
    """What no single host shows: switches, MACs, groups, disks, leases, firewall sources."""
    found: list[Problem] = []
    seen: dict[tuple[str, str, str], str] = {}  # (hypervisor, kind, value) -> first guest

    def unique(hv: str, kind: str, value: str, guest: str, at: tuple[str | int, ...]) -> None:
        first = seen.setdefault((hv, kind, value), guest)
        if first != guest:
            found.append((guest, at, f"{kind} {value!r} is already used by {first!r} on {hv!r}"))

    for guest in hosts.values():
        vm = guest.vm
        if vm is None:
            continue
        at: tuple[str | int, ...] = ("vm",)
        hv = hosts.get(vm.hypervisor)
        if hv is None:
            found.append((guest.name, at + ("hypervisor",), f"no host {vm.hypervisor!r}"))
            continue
        if hv.name == guest.name or hv.vm is not None:
            found.append(
                (
                    guest.name,
                    at + ("hypervisor",),
                    f"{hv.name!r} cannot be a hypervisor: it is a VM",
                )
            )
            continue
        if hv.bhyve is not None:
            continue  # a FreeBSD bhyve hypervisor: bhyve.bhyve_problems
        if hv.os not in (None, "openbsd") or not hv.switches:
            found.append(
                (
                    guest.name,
                    at + ("hypervisor",),
                    f"{hv.name!r} is no hypervisor: give it 'os: openbsd' and 'switches' "
                    "(vmd), or 'os: freebsd' and 'bhyve' (vm-bhyve)",
                )
            )
            continue
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", guest.name):
            found.append((guest.name, at, "a VM's name (the host's) must start with a letter"))
        if vm.cpus != 1 or vm.loader is not None:
            key = "cpus" if vm.cpus != 1 else "loader"
            found.append((guest.name, at + (key,), f"vmd takes no {key!r}: it runs one vCPU"))
        unique(hv.name, "interface group", interface_group(guest.name), guest.name, at)
        unique(hv.name, "disk", vm.disk.path, guest.name, at + ("disk", "path"))
        disk_dir = hv.vm_disk_dir or DEFAULT_VM_DISK_DIR
        if not vm.disk.path.startswith(disk_dir.rstrip("/") + "/"):
            found.append(
                (
                    guest.name,
                    at + ("disk", "path"),
                    f"{vm.disk.path!r} is outside {disk_dir!r}, where {hv.name!r} keeps VM "
                    "disks (set 'vm_disk_dir' on the hypervisor to use another directory)",
                )
            )
        for i, nic in enumerate(vm.nics):
            nat = at + ("nics", i)
            if nic.switch not in hv.switches:
                known = ", ".join(map(repr, hv.switches))
                found.append(
                    (
                        guest.name,
                        nat + ("switch",),
                        f"{hv.name!r} has no switch {nic.switch!r} (it has {known})",
                    )
                )
            if nic.mac is not None:
                unique(hv.name, "MAC", nic.mac, guest.name, nat + ("mac",))
        found += _lladdr_problems(guest)
        found += _lease_problems(guest, hv)
        lease = _lease(guest, hv)
        if lease is not None:
            unique(hv.name, "fixed address", str(lease.address), guest.name, ("address",))
        for i, rule in enumerate(vm.firewall or ()):
            _, problem = _resolve(rule, hosts)
            if problem:
                found.append((guest.name, at + ("firewall", i, "from"), problem))
    return found + bhyve_problems(hosts)


def _lladdr_problems(guest: Host) -> list[Problem]:
    """vm.conf's ``locked lladdr`` makes vmd drop every frame whose source is not the NIC's
    MAC (vm.conf(5)): the guest's interface must not set another one."""
    return [
        (
            guest.name,
            ("interfaces", name, "mac"),
            f"{mac} differs from vm.nics[{i}].mac {nic_mac}, which vm.conf locks "
            f"('locked lladdr'): vmd drops every frame {name} sends; use one MAC",
        )
        for i, name, mac, nic_mac in nic_mac_mismatches(guest)
    ]


def _lease_problems(guest: Host, hv: Host) -> list[Problem]:
    """A fixed address must be served: a MAC to fix it to, inside the subnet, outside the
    dynamic range, not the hypervisor's own."""
    vm = guest.vm
    assert vm is not None
    found: list[Problem] = []
    for i, nic in enumerate(vm.nics):
        at: tuple[str | int, ...] = ("vm", "nics", i, "address")
        served = dhcp_interface(hv, nic.switch)
        if nic.address is not None and served is None:
            found.append(
                (guest.name, at, f"no DHCP server of {hv.name!r} serves switch {nic.switch!r}")
            )
        elif nic.address is not None and nic.mac is None:
            found.append((guest.name, at, "a fixed address needs the NIC's 'mac' to be fixed to"))
    for i, lease, subnet in _leases(guest, hv):
        at = ("vm", "nics", i, "address") if vm.nics[i].address else ("address",)
        low, high = hv.dhcp_server[lease.interface].range
        if lease.address not in subnet.network:
            found.append(
                (
                    guest.name,
                    at,
                    f"{lease.address} is outside {subnet.network}, the subnet {hv.name!r} "
                    f"serves on {lease.interface!r}",
                )
            )
        elif low <= lease.address <= high:  # type: ignore[operator]
            found.append(
                (
                    guest.name,
                    at,
                    f"{lease.address} is inside the dynamic range {low}-{high}; "
                    "fixed addresses must sit outside it",
                )
            )
        elif lease.address == subnet.ip:
            found.append((guest.name, at, f"{lease.address} is {hv.name!r}'s own address"))
    return found
