"""FreeBSD: the network keys of ``/etc/rc.conf`` (rc.conf(5)); every other line is kept.

rc.d/routing adds ``static_routes`` left to right and ``defaultrouter`` after them, so the host
route to an onlink gateway is listed in ``static_routes`` and the default stays in
``defaultrouter``. rc.d/routing reads rc.conf and rc.conf.d/routing only, so everything goes in
rc.conf. Applied with ``service netif restart IF...`` then ``service routing restart``, since
netif restart drops the default route and does not add it back.
"""

from __future__ import annotations

from bsdprov.bhyve import port_address_problems
from bsdprov.errors import RenderError
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
from bsdprov.render.bhyve import render_bhyve
from bsdprov.vmd import Guest

# Our static route names carry this prefix so the admin's own static_routes entries are kept.
ROUTE_PREFIX = "bsdprov_"


class FreeBSDRenderer:
    os = "freebsd"

    def render(self, host: Host, release: str | None, guests: tuple[Guest, ...] = ()) -> Rendered:
        # The host's release (uname) can be newer than the inventory says: checked again here.
        for path, problem in port_address_problems(host, release):
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)[1:]
            raise RenderError(f"host {host.name!r}, {where}: {problem}")
        interfaces = ordered_interfaces(host)
        assign: list[tuple[str, str | WordList]] = []
        remove: list[str] = []
        if host.hostname:
            assign.append(("hostname", host.hostname))
        cloned = tuple(n for n, _ in interfaces if is_cloned(n) and kind_of(n) != "vlan")
        managed = tuple(n for n, _ in interfaces)
        assign.append(("cloned_interfaces", WordList(cloned, owned_words=managed)))
        for name, itf in interfaces:
            remove += list(_owned_keys(name))
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
        # A bhyve hypervisor (vm-bhyve): its rc.conf keys, files and steps after the network's.
        part = render_bhyve(host, guests) if host.bhyve is not None else None
        assign += part.rc_conf if part else ()
        edit = VarsEdit("/etc/rc.conf", tuple(assign), tuple(remove))
        checks = (Step(("sh", "-n", "/etc/rc.conf"), "rc.conf is sourced by sh at boot"),)
        return Rendered(
            host.name,
            self.os,
            release,
            (edit, *(part.files if part else ())),
            checks + (part.checks if part else ()),
            _steps(host, tuple(n for n, _ in interfaces)) + (part.steps if part else ()),
            verify_checks(host, slash_form=False) + (part.verify if part else ()),
            part.creates if part else (),
            part.owned_globs if part else (),
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
    # Always set, empty when the interface has no IPv6: network.subr reads an unset
    # ifconfig_IF_ipv6 as $ifconfig_DEFAULT (_ifconfig_getargs IF ipv6), so a host whose
    # ifconfig_DEFAULT is "SYNCDHCP accept_rtadv" (cloud images) would otherwise run
    # `ifconfig IF accept_rtadv` and rtsol on this static interface at every boot.
    found.append((f"ifconfig_{name}_ipv6", v6[0] if v6 else ""))
    aliases += v6[1:]
    if itf.mac:
        # ifconfig reads a family (inet, inet6, link, ether, lladdr) only as its first word:
        # after `inet A`, `ether` is taken for an address and the whole command fails before
        # the address is set (ifconfig.c ifconfig(), in_getaddr). network.subr's ifconfig_up
        # runs `ifalias IF ether alias`, which hands each ifconfig_IF_aliasN starting with
        # `ether` to `ifconfig IF ether MAC alias` on its own, after ifconfig_IF and before
        # `up` and dhclient. Numbered last, so the address aliases keep their numbers.
        aliases.append(f"ether {itf.mac}")
    found += [(f"ifconfig_{name}_alias{i}", text) for i, text in enumerate(aliases)]
    if itf.description:
        found.append((f"ifconfig_{name}_descr", itf.description))
    return found


def _named_routes(host: Host, version: int) -> list[tuple[str, str]]:
    """bsdprov's static_routes entries of one family, in order: (name, route(8) arguments)."""
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
    return named


def _route_vars(host: Host, version: int) -> list[tuple[str, str | WordList]]:
    ipv6 = "ipv6_" if version == 6 else ""
    named = _named_routes(host, version)
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


def _owned_keys(name: str) -> tuple[str, ...]:
    """The rc.conf keys that configure ``name`` at boot (network.subr), all bsdprov's: an
    admin's or legacy one left in place would add what the inventory does not say."""
    return (
        f"ifconfig_{name}",
        f"ifconfig_{name}_*",
        f"create_args_{name}",
        f"vlans_{name}",
        # Legacy forms ifalias_af_common and ifconfig_up still read.
        f"ipv4_addrs_{name}",
        f"ipv6_ifconfig_{name}",
        f"ipv6_ifconfig_{name}_alias*",
        f"ipv6_prefix_{name}",
    )


def _interface_keys(name: str) -> tuple[str, ...]:
    keys = _owned_keys(name)
    cloned = ("cloned_interfaces",) if _in_cloned_list(name) else ()
    return tuple(f"{RC}#{key}" for key in keys + cloned)


def _restart_keys(host: Host, name: str) -> tuple[str, ...]:
    """What ``service netif restart NAME`` must follow: NAME's own keys, and the create_args of
    the vlans it creates (childif_create reads a vlan's tag only when it makes the vlan; the
    vlan's own restart never re-creates it)."""
    children = tuple(
        f"{RC}#create_args_{n}" for n, i in host.interfaces.items() if i.parent == name
    )
    return _interface_keys(name) + children


def _in_cloned_list(name: str) -> bool:
    """Whether ``name`` is in cloned_interfaces: vlans are created through their parent."""
    return is_cloned(name) and kind_of(name) != "vlan"


def _destroyed_by(host: Host, name: str) -> set[str]:
    """What ``service netif restart NAME`` destroys and re-creates: NAME itself when it is in
    cloned_interfaces (clone_down), and its vlans_NAME children (ifn_stop's childif_destroy;
    ifn_start's childif_create makes them again, outside any bridge)."""
    gone = {n for n, i in host.interfaces.items() if i.parent == name}
    if _in_cloned_list(name):
        gone.add(name)
    return gone


def _restarted_with(host: Host, names: tuple[str, ...]) -> dict[str, list[str]]:
    """For each interface, the earlier interfaces whose restart must restart it too: a vlan
    whose parent restarts (re-created, so re-applied) and every bridge that holds a member a
    restart destroys (a re-created member is outside the bridge until ``addm`` runs again)."""
    found: dict[str, list[str]] = {n: [] for n in names}
    for i, name in enumerate(names):
        gone = _destroyed_by(host, name)
        for later in names[i + 1 :]:
            members = set(host.interfaces[later].members)
            if (later in gone and later != name) or members & gone:
                found[later].append(name)
    return found


def _steps(host: Host, names: tuple[str, ...]) -> tuple[Step, ...]:
    steps: list[Step] = []
    with_ = _restarted_with(host, names)
    for name in names:
        why = f"re-create and re-address {name} from rc.conf"
        if _in_cloned_list(name):
            why += f" (destroys {name}: members added at run time, such as VM taps, drop out)"
        triggers = _restart_keys(host, name)
        if with_[name]:
            after = ", ".join(with_[name])
            why += f"; also after {after}, whose restart re-creates "
            why += "a member outside this bridge" if kind_of(name) == "bridge" else "it"
            triggers += tuple(t for n in with_[name] for t in _restart_keys(host, n))
        triggers = tuple(dict.fromkeys(triggers))
        if not host.interfaces[name].autoconf6:
            # ifn_stop reads the new rc.conf: ipv6_down clears accept_rtadv only when that
            # still says autoconf, so a flag set by the old ifconfig_IF_ipv6 (or by
            # ifconfig_DEFAULT, when it was unset) would outlive the restart; at boot an
            # interface starts without it.
            steps.append(
                Step(
                    ("ifconfig", name, "inet6", "-accept_rtadv"),
                    "no router-advert autoconfiguration here, as after a boot",
                    True,
                    (f"{RC}#ifconfig_{name}_ipv6",),
                )
            )
        steps.append(Step(("service", "netif", "restart", name), why, False, triggers))
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
        # start only adds rc.conf's routes, and `route add` never replaces one ("File
        # exists"): a changed gateway is deleted first, as rc.d/routing stop would.
        routing = tuple(f"{RC}#{key}" for key in ROUTING_KEYS) if host.routes is not None else ()
        steps += _route_deletes(host)
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


def _route_deletes(host: Host) -> list[Step]:
    """On a host whose other routes come from DHCP or router adverts: delete each route
    bsdprov sets when its rc.conf key changes, so ``routing start`` adds the new one. Only
    routes the inventory has: a default learned by dhclient on a host without one stays."""
    steps: list[Step] = []
    for version in (4, 6):
        route = default_route(host, version)
        if route is None:
            continue
        family = ("-inet6",) if version == 6 else ()
        key = "ipv6_defaultrouter" if version == 6 else "defaultrouter"
        steps.append(
            Step(
                ("route", "-n", "delete", *family, "default"),
                f"`route add default` never replaces one: rc.d/routing start re-adds {key}",
                True,
                (f"{RC}#{key}",),
            )
        )
    for version in (4, 6):
        ipv6 = "ipv6_" if version == 6 else ""
        family = ("-inet6",) if version == 6 else ()
        for name, args in _named_routes(host, version):
            target = args.split()[:2]  # "-host GW" or "-net DEST"
            steps.append(
                Step(
                    ("route", "-n", "delete", *family, *target),
                    f"re-added from {ipv6}route_{name} by rc.d/routing start",
                    True,
                    (f"{RC}#{ipv6}route_{name}",),
                )
            )
    return steps
