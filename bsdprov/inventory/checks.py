"""Problems no single field shows: references, address families, reachability, OS support,
hypervisors and jump hosts across the inventory."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from bsdprov.bhyve import check_bhyve_host
from bsdprov.inventory.messages import Path_, did_you_mean, dotted
from bsdprov.model import (
    POINT_TO_POINT_KINDS,
    FirewallRule,
    Host,
    Interface,
    connected_interface,
    disk_dir_problem,
    is_link_local,
    kind_of,
    link_route_interface,
)
from bsdprov.render.netbsd import bridge_mtu_problem as netbsd_bridge_mtu_problem
from bsdprov.render.netbsd import release_problem as netbsd_release_problem


def check_host(host: Host) -> list[tuple[Path_, str]]:
    """Problems no single field shows: references, families, reachability, OS support."""
    found: list[tuple[Path_, str]] = []
    names = list(host.interfaces)
    seen_addresses: dict[str, Path_] = {}
    bridged: dict[str, str] = {}
    for name, itf in host.interfaces.items():
        at: Path_ = ("interfaces", name)
        found += [(at + p, m) for p, m in _check_interface(host, name, itf, names)]
        for i, address in enumerate(itf.addresses):
            key = str(address.ip)
            if key in seen_addresses:
                found.append(
                    (at + ("addresses", i), f"{key!r} is also at {dotted(seen_addresses[key])}")
                )
            seen_addresses.setdefault(key, at + ("addresses", i))
        for i, member in enumerate(itf.members):
            if member in bridged:
                found.append(
                    (at + ("members", i), f"{member!r} is already a member of {bridged[member]!r}")
                )
            bridged.setdefault(member, name)
    found += _check_hypervisor(host)
    found += check_bhyve_host(host)
    found += _check_firewall(host)
    if host.routes is not None:
        found += _check_routes(host)
        if host.os == "openbsd":
            found += _check_mygate_autoconf(host)
    return found


def _check_hypervisor(host: Host) -> list[tuple[Path_, str]]:
    """Switches, NAT and DHCP must name interfaces the host configures, as vmd and dhcpd need."""
    keys = [
        k
        for k in ("switches", "nat", "dhcp_server", "forwarding", "firewall", "vm_disk_dir")
        if k in host.model_fields_set
    ]
    if not keys:
        return []
    if host.vm_disk_dir is not None:
        if not host.switches:
            return [(("vm_disk_dir",), "only a vmd hypervisor (a host with 'switches') takes it")]
        problem = disk_dir_problem(host.vm_disk_dir)
        if problem:
            return [(("vm_disk_dir",), problem)]
    if host.os not in (None, "openbsd"):
        # A FreeBSD bhyve hypervisor takes forwarding (gateway_enable) and NAT (FreeBSD pf),
        # both rendered and checked by render/bhyve.py and bhyve.check_bhyve_host.
        refused = [k for k in keys if not (k in ("forwarding", "nat") and host.bhyve is not None)]
        return (
            [
                (
                    (refused[0],),
                    f"only OpenBSD vmd hypervisors take {refused[0]!r}; this host is {host.os}",
                )
            ]
            if refused
            else []
        )
    found: list[tuple[Path_, str]] = []
    if host.vm is not None and host.switches:
        found.append((("vm",), "a vmd hypervisor cannot itself be a VM of another one here"))
    for switch, bridge in host.switches.items():
        if kind_of(bridge) != "bridge" and not bridge.startswith("veb"):
            found.append(
                (
                    ("switches", switch),
                    f"{bridge!r} is not a bridge; vmd switches are bridgeN or vebN",
                )
            )
        elif bridge not in host.interfaces:
            found.append(
                (
                    ("switches", switch),
                    f"{bridge!r} is not among the host's interfaces; declare it with its members",
                )
            )
    for i, nat in enumerate(host.nat):
        if nat.out not in host.interfaces:
            found.append((("nat", i, "out"), f"{nat.out!r} is not among the host's interfaces"))
        if nat.source.version != 4:
            found.append((("nat", i, "from"), "NAT is for IPv4 segments; route IPv6 instead"))
    for ifname, server in host.dhcp_server.items():
        at: Path_ = ("dhcp_server", ifname)
        itf = host.interfaces.get(ifname)
        static = itf.static(4) if itf else ()
        if not static:
            found.append(
                (at, f"dhcpd serves only interfaces with an IPv4 address; give {ifname!r} one")
            )
            continue
        subnet = static[0].network
        low, high = server.range
        for i, end in enumerate((low, high)):
            if end.version != 4 or end not in subnet:
                found.append(
                    (at + ("range", i), f"{end} is outside {subnet}, the subnet of {ifname!r}")
                )
        if low.version == high.version == 4 and low > high:
            found.append((at + ("range",), f"the range starts at {low}, after its end {high}"))
        elif low.version == 4 and low <= static[0].ip <= high:  # type: ignore[operator]
            found.append(
                (at + ("range",), f"the range holds {ifname!r}'s own address {static[0].ip}")
            )
    return found


def _check_firewall(host: Host) -> list[tuple[Path_, str]]:
    """pf matches ports only with tcp or udp ("port only applies to tcp/udp", pfctl)."""
    rules: list[tuple[Path_, FirewallRule]] = []
    if host.vm is not None:
        rules += [(("vm", "firewall", i), r) for i, r in enumerate(host.vm.firewall or ())]
    if host.firewall is not None:
        rules += [(("firewall", "allow", i), r) for i, r in enumerate(host.firewall.allow)]
    return [
        (
            at + ("port",),
            "a port needs 'proto: tcp' or 'proto: udp'"
            if r.proto is None
            else f"'proto: {r.proto}' has no ports; leave 'port' out or use tcp or udp",
        )
        for at, r in rules
        if r.port and r.proto not in ("tcp", "udp")
    ]


def _check_mygate_autoconf(host: Host) -> list[tuple[Path_, str]]:
    """netstart skips mygate's lines of a family that any interface autoconfigures."""
    found: list[tuple[Path_, str]] = []
    for i, route in enumerate(host.routes or ()):
        if not route.is_default:
            continue
        key = "dhcp" if route.version == 4 else "autoconf6"
        auto = [n for n, itf in host.interfaces.items() if getattr(itf, key)]
        if auto:
            found.append(
                (
                    ("routes", i),
                    f"netstart ignores an IPv{route.version} default route "
                    f"in /etc/mygate while {auto[0]!r} has '{key}: true'; the default "
                    "comes from autoconfiguration there, so remove this route",
                )
            )
    return found


def _check_interface(
    host: Host, name: str, itf: Interface, names: list[str]
) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    kind = kind_of(name)
    if kind == "lo":
        return [((), "loopback interfaces are configured by the OS; remove it")]
    if host.os == "freebsd" and itf.up is False:
        found.append(
            (
                ("up",),
                "freebsd's rc.d/netif brings every configured interface up; "
                "leave the interface out of the inventory to leave it alone",
            )
        )
    if host.os == "freebsd" and kind == "vether":
        found.append(((), "freebsd has no vether interfaces; use a bridge address or epair"))
    if host.os == "netbsd" and host.release is not None:
        problem = netbsd_release_problem(name, host.release)
        if problem is not None:
            found.append(((), problem))
    if host.os == "netbsd" and kind == "bridge":
        for member in itf.members:
            problem = netbsd_bridge_mtu_problem(host, name, member)
            if problem is not None:
                found.append((("members",), problem))
    if host.os == "netbsd" and itf.autoconf6:
        found.append(
            (
                ("autoconf6",),
                "not supported on netbsd; 'dhcp: true' runs dhcpcd, "
                "which also does IPv6 autoconfiguration",
            )
        )
    if kind == "vlan":
        for key in ("parent", "vlan"):
            if getattr(itf, key) is None:
                found.append(((), f"a vlan interface needs {key!r}"))
    else:
        found += [
            ((key,), f"only vlan interfaces take {key!r}")
            for key in ("parent", "vlan")
            if getattr(itf, key) is not None
        ]
    if itf.parent is not None and (itf.parent == name or kind_of(itf.parent) == "bridge"):
        found.append(
            (
                ("parent",),
                f"{itf.parent!r} cannot carry a vlan; name the physical "
                "interface (or trunk) the tagged frames leave through",
            )
        )
    elif itf.parent is not None and itf.parent not in names:
        found.append(
            (
                ("parent",),
                f"{itf.parent!r} is not declared under this host's "
                f"interfaces{did_you_mean(itf.parent, names)}",
            )
        )
    if itf.members and kind != "bridge":
        found.append((("members",), "only bridge interfaces take 'members'"))
    for i, member in enumerate(itf.members):
        if member == name or kind_of(member) == "bridge":
            found.append((("members", i), "a bridge cannot be a member of a bridge"))
        elif member not in names:
            found.append(
                (
                    ("members", i),
                    f"{member!r} is not declared under this host's "
                    f"interfaces{did_you_mean(member, names)}",
                )
            )
    if itf.tunnel is not None:
        if kind not in ("gif", "gre"):
            found.append((("tunnel",), "only gif and gre interfaces take 'tunnel'"))
        elif itf.tunnel.local.version != itf.tunnel.remote.version:
            found.append((("tunnel", "remote"), "local and remote must be of one IP version"))
    if itf.peer is not None:
        if kind not in POINT_TO_POINT_KINDS:
            found.append((("peer",), "only point-to-point interfaces (gif, gre, tun) take 'peer'"))
        elif not itf.static(itf.peer.version):
            found.append((("peer",), f"needs an IPv{itf.peer.version} address on this interface"))
    if itf.dhcp and itf.static(4):
        found.append((("dhcp",), "'dhcp: true' and a static IPv4 address exclude each other"))
    if itf.mtu is not None and itf.mtu < 1280 and (itf.static(6) or itf.autoconf6):
        found.append((("mtu",), f"{itf.mtu} is below 1280, the least IPv6 allows"))
    for i, address in enumerate(itf.addresses):
        net = address.network
        if (
            address.version == 4
            and net.prefixlen <= 30
            and address.ip in (net.network_address, net.broadcast_address)
        ):
            edge = "network" if address.ip == net.network_address else "broadcast"
            found.append((("addresses", i), f"'{address}' is the {edge} address of {net}"))
    return found


def _check_routes(host: Host) -> list[tuple[Path_, str]]:
    found: list[tuple[Path_, str]] = []
    defaults: dict[int, int] = {}
    targets: dict[str, int] = {}
    own = {str(a.ip) for itf in host.interfaces.values() for a in itf.addresses}
    for i, route in enumerate(host.routes or ()):
        at: Path_ = ("routes", i)
        family = f"IPv{route.version}"
        target = f"{route.to}/{family}"
        if target in targets:
            what = (
                f"a second {family} default route"
                if route.is_default
                else f"{str(route.to)!r} is already routed"
            )
            found.append((at + ("to",), f"{what}; the first is routes[{targets[target]}]"))
            continue
        targets.setdefault(target, i)
        if route.is_default:
            defaults.setdefault(route.version, i)
        elif route.to.version != route.version:  # type: ignore[union-attr]
            found.append((at + ("via",), f"an {family} gateway cannot route {route.to}"))
            continue
        if route.interface is not None and route.interface not in host.interfaces:
            found.append(
                (
                    at + ("interface",),
                    f"{route.interface!r} is not declared under this "
                    f"host's interfaces{did_you_mean(route.interface, host.interfaces)}",
                )
            )
            continue
        if str(route.via) in own:
            found.append((at + ("via",), f"'{route.via}' is this host's own address"))
        elif is_link_local(route.via) and route.interface is None:
            found.append((at + ("via",), f"link-local gateway '{route.via}' needs 'interface'"))
        elif connected_interface(host, route) is None:
            found += [(at + p, m) for p, m in _check_onlink(host, route)]
    return found


def _check_onlink(host: Host, route: Any) -> list[tuple[Path_, str]]:
    if not route.onlink:
        return [
            (
                ("via",),
                f"gateway '{route.via}' is in no subnet of this host's interfaces; "
                "if the provider says it is on the link (a failover address), set 'onlink: true'",
            )
        ]
    name = link_route_interface(host, route)
    if name is None:
        with_addresses = [n for n, i in host.interfaces.items() if i.static(route.version)]
        return [
            (
                (),
                "an onlink gateway needs 'interface' when the host has not exactly one "
                f"interface with a static IPv{route.version} address (it has "
                f"{len(with_addresses)})",
            )
        ]
    if host.os == "netbsd" and not host.interfaces[name].static(route.version):
        return [
            (
                ("interface",),
                f"on netbsd the route to an onlink gateway leaves through the "
                f"interface's own address; give {name!r} a static IPv{route.version} address",
            )
        ]
    return []


def jump_host_problems(hosts: dict[str, Host], declared: set[str]) -> list[tuple[str, str]]:
    """(host, message) for every ``via`` that names no host or closes a loop.

    A ``via`` naming a declared host that failed validation is not reported again: that host's
    own problems are.
    """
    found: list[tuple[str, str]] = []
    # Hosts whose chain of jump hosts is known to end without a loop: a walk that reaches one
    # stops there, so a long chain costs one walk, not one per host (that was cubic: a
    # 3000-host chain kept 'bsdprov check' busy for minutes).
    ends: set[str] = set()
    for name, host in hosts.items():
        if host.via is None or (host.via in declared and host.via not in hosts):
            continue
        if host.via not in hosts:
            found.append((name, f"no host {host.via!r}{did_you_mean(host.via, hosts)}"))
            continue
        chain: dict[str, None] = {name: None}
        hop: str | None = host.via
        while hop is not None and hop not in chain and hop not in ends:
            chain[hop] = None
            hop = hosts[hop].via if hop in hosts else None
        if hop is not None and hop in chain:
            found.append((name, "jump hosts form a loop: " + " -> ".join([*chain, hop])))
        elif hop is None or hop in ends:
            ends.update(chain)
    return found


def previous_address_problems(hosts: dict[str, Host]) -> list[tuple[str, str]]:
    """(host, message) for a ``previous_address`` that is the host's own ``address``, or the
    endpoint (address, port, jump host) another host answers at: when ``address`` does not
    answer, bsdprov would connect there and apply this host's network to that one."""
    owners: dict[tuple[str, int, str | None], str] = {}
    for name, host in hosts.items():
        if host.address is not None:
            owners.setdefault((_same_address(host.address), host.port, host.via), name)
    found: list[tuple[str, str]] = []
    for name, host in hosts.items():
        previous = host.previous_address
        if previous is None:
            continue
        if host.address is not None and _same_address(previous) == _same_address(host.address):
            found.append(
                (name, f"{previous!r} is 'address' itself: once the move is done, remove it")
            )
            continue
        other = owners.get((_same_address(previous), host.port, host.via))
        if other is not None and other != name:
            found.append(
                (
                    name,
                    f"{previous!r} is the address of host {other!r} (port {host.port}): "
                    f"bsdprov would deploy {name!r} to {other!r}; remove 'previous_address'",
                )
            )
    return found


def _same_address(address: str) -> str:
    try:
        return str(ip_address(address))
    except ValueError:
        return address.lower().rstrip(".")
