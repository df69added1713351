"""FreeBSD: the network keys of ``/etc/rc.conf`` (rc.conf(5)); every other line is kept.

rc.d/routing adds ``static_routes`` left to right and ``defaultrouter`` after them, so the host
route to an onlink gateway is listed in ``static_routes`` and the default stays in
``defaultrouter``. rc.d/routing reads rc.conf and rc.conf.d/routing only, so everything goes in
rc.conf. Applied with ``service netif restart IF...`` then ``service routing restart``, since
netif restart drops the default route and does not add it back.
"""

from __future__ import annotations

from bsdprov.model import Host, Interface, Route, kind_of
from bsdprov.render.base import (
    Rendered,
    Step,
    VarsEdit,
    WordList,
    default_route,
    hostname_steps,
    is_cloned,
    iter_addresses,
    link_routes,
    netmask,
    network_routes,
    ordered_interfaces,
    prefixlen,
    routes_of,
    verify_checks,
)
from bsdprov.vmd import Guest

# Our static route names carry this prefix so the admin's own static_routes entries are kept.
ROUTE_PREFIX = "bsdprov_"


class FreeBSDRenderer:
    os = "freebsd"

    def render(self, host: Host, release: str | None, guests: tuple[Guest, ...] = ()) -> Rendered:
        interfaces = ordered_interfaces(host)
        assign: list[tuple[str, str | WordList]] = []
        remove: list[str] = []
        if host.hostname:
            assign.append(("hostname", host.hostname))
        cloned = tuple(n for n, _ in interfaces if is_cloned(n) and kind_of(n) != "vlan")
        managed = tuple(n for n, _ in interfaces)
        assign.append(("cloned_interfaces", WordList(cloned, owned_words=managed)))
        for name, itf in interfaces:
            remove += [
                f"ifconfig_{name}",
                f"ifconfig_{name}_*",
                f"create_args_{name}",
                f"vlans_{name}",
            ]
            children = tuple(n for n, i in interfaces if i.parent == name)
            if children:
                assign.append((f"vlans_{name}", " ".join(children)))
            if itf.vlan is not None:
                assign.append((f"create_args_{name}", f"vlan {itf.vlan}"))
            assign += _interface_vars(name, itf)
        if host.routes is not None:
            assign += _route_vars(host, 4)
            assign += _route_vars(host, 6)
            remove += [
                "defaultrouter",
                "ipv6_defaultrouter",
                f"route_{ROUTE_PREFIX}*",
                f"ipv6_route_{ROUTE_PREFIX}*",
            ]
        edit = VarsEdit("/etc/rc.conf", tuple(assign), tuple(remove))
        checks = (Step(("sh", "-n", "/etc/rc.conf"), "rc.conf is sourced by sh at boot"),)
        return Rendered(
            host.name,
            self.os,
            release,
            (edit,),
            checks,
            _steps(host, tuple(n for n, _ in interfaces)),
            verify_checks(host, slash_form=False),
        )


def _interface_vars(name: str, itf: Interface) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    words: list[str] = []
    aliases: list[str] = []
    if itf.dhcp:
        words.append("DHCP")
    for primary, address in iter_addresses(itf, 4):
        peer = f" {itf.peer}" if itf.peer is not None and itf.peer.version == 4 else ""
        text = f"inet {address.ip}{peer if primary else ''} netmask {netmask(address)}"  # type: ignore[arg-type]
        (words if primary else aliases).append(text)
    if itf.tunnel is not None:
        words.append(f"tunnel {itf.tunnel.local} {itf.tunnel.remote}")
    words += [f"addm {member}" for member in itf.members]
    if itf.mac:
        words.append(f"ether {itf.mac}")
    if itf.mtu:
        words.append(f"mtu {itf.mtu}")
    if itf.up is False:
        words.append("down")
    elif not itf.static(4) and not itf.dhcp:
        words.append("up")
    found.append((f"ifconfig_{name}", " ".join(words)))

    v6 = []
    for primary, address in iter_addresses(itf, 6):
        peer = f" {itf.peer}" if primary and itf.peer is not None and itf.peer.version == 6 else ""
        v6.append(f"inet6 {address.ip}{peer} prefixlen {prefixlen(address, itf)}")  # type: ignore[arg-type]
    if itf.autoconf6:
        v6.insert(0, "inet6 accept_rtadv")
    if v6:
        found.append((f"ifconfig_{name}_ipv6", v6[0]))
    aliases += v6[1:]
    found += [(f"ifconfig_{name}_alias{i}", text) for i, text in enumerate(aliases)]
    if itf.description:
        found.append((f"ifconfig_{name}_descr", itf.description))
    return found


def _route_vars(host: Host, version: int) -> list[tuple[str, str | WordList]]:
    ipv6 = "ipv6_" if version == 6 else ""
    gw, net = ("gw6_", "net6_") if version == 6 else ("gw_", "net")
    named: list[tuple[str, str]] = []
    for name, _ in ordered_interfaces(host):
        for i, route in enumerate(r for r in link_routes(host, name) if r.version == version):
            named.append(
                (
                    f"{ROUTE_PREFIX}{gw}{name}{f'_{i}' if i else ''}",
                    f"-host {route.via} -interface {name}",
                )
            )
    for i, route in enumerate(
        r for r in routes_of(host) if not r.is_default and r.version == version and _leaves(host, r)
    ):
        named.append((f"{ROUTE_PREFIX}{net}{i}", f"-net {route.to} {_gateway(route)}"))
    found: list[tuple[str, str | WordList]] = [
        (f"{ipv6}static_routes", WordList(tuple(n for n, _ in named), owned_prefix=ROUTE_PREFIX)),
    ]
    found += [(f"{ipv6}route_{name}", args) for name, args in named]
    default = default_route(host, version)
    if default is not None:
        found.append((f"{ipv6}defaultrouter", _gateway(default)))
    return found


def _leaves(host: Host, route: Route) -> bool:
    return any(route in network_routes(host, name) for name in host.interfaces)


def _gateway(route: Route) -> str:
    if route.version == 6 and route.via.is_link_local and route.interface:
        return f"{route.via}%{route.interface}"
    return str(route.via)


RC = "/etc/rc.conf"
ROUTING_KEYS = (
    "static_routes",
    "route_*",
    "defaultrouter",
    "ipv6_static_routes",
    "ipv6_route_*",
    "ipv6_defaultrouter",
    "gateway_enable",
    "ipv6_gateway_enable",
)


def _interface_keys(name: str) -> tuple[str, ...]:
    keys = (f"ifconfig_{name}", f"ifconfig_{name}_*", f"create_args_{name}", f"vlans_{name}")
    cloned = ("cloned_interfaces",) if is_cloned(name) else ()
    return tuple(f"{RC}#{key}" for key in keys + cloned)


def _steps(host: Host, names: tuple[str, ...]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for name in names:
        why = f"re-create and re-address {name} from rc.conf"
        if is_cloned(name):
            why += f" (destroys {name}: members added at run time, such as VM taps, drop out)"
        steps.append(Step(("service", "netif", "restart", name), why, False, _interface_keys(name)))
    triggers = tuple(dict.fromkeys(t for n in names for t in _interface_keys(n)))
    dynamic = any(i.dhcp or i.autoconf6 for i in host.interfaces.values())
    if host.routes is not None and not dynamic:
        # All gateway routes are ours: routing restart flushes them and adds rc.conf's back.
        steps.append(
            Step(
                ("service", "routing", "restart"),
                "netif restart drops the default route and does not add it back",
                False,
                triggers + tuple(f"{RC}#{key}" for key in ROUTING_KEYS),
            )
        )
    elif names:
        # routing restart would flush routes learned by dhclient or from router adverts;
        # start only adds rc.conf's routes back ("File exists" for those still there).
        routing = tuple(f"{RC}#{key}" for key in ROUTING_KEYS) if host.routes is not None else ()
        steps.append(
            Step(
                ("service", "routing", "start"),
                "re-add rc.conf's static and default routes after netif restart",
                True,
                triggers + routing,
            )
        )
    steps += hostname_steps(host, f"{RC}#hostname", "rc.conf's hostname")
    return tuple(steps)
