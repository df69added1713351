"""OpenBSD: ``/etc/hostname.IF`` (hostname.if(5)), ``/etc/mygate`` (mygate(5)), ``/etc/myname``;
a vmd hypervisor's other files come from ``hypervisor.py``.

Applied with ``sh /etc/netstart IF...`` (netstart(8)), which only adds: it neither removes old
addresses nor replaces an existing default route, so the steps clean those up first.
"""

from __future__ import annotations

from bsdprov.model import Host, Interface, IPAddress, Route, kind_of, route_interface
from bsdprov.render.base import (
    MANAGED_HEADER,
    FileSpec,
    Rendered,
    Step,
    default_route,
    hostname_steps,
    iter_addresses,
    link_routes,
    netmask,
    network_routes,
    ordered_interfaces,
    prefixlen,
    release_at_least,
    verify_checks,
)
from bsdprov.render.hypervisor import render_hypervisor
from bsdprov.vmd import Guest


class OpenBSDRenderer:
    os = "openbsd"

    def render(self, host: Host, release: str | None, guests: tuple[Guest, ...] = ()) -> Rendered:
        interfaces = ordered_interfaces(host)
        files = [
            FileSpec(f"/etc/hostname.{name}", _hostname_if(host, name, itf, release), 0o640)
            for name, itf in interfaces
        ]
        if host.routes is not None:
            files.append(FileSpec("/etc/mygate", _mygate(host)))
        if host.hostname:
            files.append(FileSpec("/etc/myname", f"{host.hostname}\n"))
        names = tuple(name for name, _ in interfaces)
        checks = (
            (Step(("sh", "/etc/netstart", "-n", *names), "netstart's own dry run"),)
            if names
            else ()
        )
        rendered = Rendered(
            host.name,
            self.os,
            release,
            tuple(files),
            checks,
            _steps(host, names),
            verify_checks(host, slash_form=False),
        )
        if not (host.switches or host.nat or host.dhcp_server or host.forwarding or host.firewall):
            return rendered
        # The hypervisor's services come after its interfaces: vmd needs the bridges, dhcpd
        # its addresses, and pf is checked against the interfaces it names.
        part = render_hypervisor(host, guests)
        return Rendered(
            host.name,
            self.os,
            release,
            rendered.files + part.files,
            rendered.checks + part.checks,
            rendered.steps + part.steps,
            rendered.verify + part.verify,
            part.creates,
            part.owned_globs,
        )


def _gateway(address: IPAddress, route: Route) -> str:
    # A link-local gateway is only meaningful with its scope: fe80::1%vio0.
    scoped = address.version == 6 and address.is_link_local and route.interface
    return f"{address}%{route.interface}" if scoped else str(address)


def _hostname_if(host: Host, name: str, itf: Interface, release: str | None) -> str:
    lines = [MANAGED_HEADER]
    if itf.parent is not None and itf.vlan is not None:
        lines.append(f"vnetid {itf.vlan} parent {itf.parent}")
    if itf.tunnel is not None:
        lines.append(f"tunnel {itf.tunnel.local} {itf.tunnel.remote}")
    if itf.mac:
        lines.append(f"lladdr {itf.mac}")
    if itf.mtu:
        lines.append(f"mtu {itf.mtu}")
    if itf.description:
        lines.append(f'description "{itf.description}"')
    lines += [f"add {member}" for member in itf.members]
    for primary, address in iter_addresses(itf, 4):
        alias = "" if primary else "alias "
        lines.append(f"inet {alias}{address.ip} {netmask(address)}")  # type: ignore[arg-type]
        if primary and itf.peer is not None and itf.peer.version == 4:
            lines.append(f"dest {itf.peer}")
    if itf.dhcp:
        # netstart 1.229 turns "dhcp" into "inet autoconf"; dhcpleased arrived in 6.9.
        lines.append("inet autoconf" if release_at_least(release, (6, 9)) else "dhcp")
    for primary, address in iter_addresses(itf, 6):
        alias = "" if primary else "alias "
        lines.append(f"inet6 {alias}{address.ip} {prefixlen(address, itf)}")  # type: ignore[arg-type]
        if primary and itf.peer is not None and itf.peer.version == 6:
            lines.append(f"dest {itf.peer}")
    if itf.autoconf6:
        lines.append("inet6 autoconf")
    # A route to an onlink gateway must exist before mygate's default route through it.
    for route in link_routes(host, name):
        family = f"-inet{'6' if route.version == 6 else ''}"
        lines.append(f"!route -qn add {family} {route.via} -cloning -link -iface $if")
    for route in network_routes(host, name):
        family = f"-inet{'6' if route.version == 6 else ''}"
        lines.append(f"!route -qn add {family} {route.to} {_gateway(route.via, route)}")
    has_address = bool(itf.addresses) or itf.dhcp or itf.autoconf6
    if itf.up is False:
        lines.append("down")
    elif itf.up or not has_address or kind_of(name) == "bridge":
        lines.append("up")
    return "\n".join(lines) + "\n"


def _mygate(host: Host) -> str:
    # netstart installs the first line of each family only.
    lines = [MANAGED_HEADER]
    for version in (4, 6):
        route = default_route(host, version)
        if route is not None:
            lines.append(_gateway(route.via, route))
    return "\n".join(lines) + "\n"


def _steps(host: Host, names: tuple[str, ...]) -> tuple[Step, ...]:
    mygate = ("/etc/mygate",)
    steps: list[Step] = []
    defaults = [r for r in (default_route(host, 4), default_route(host, 6)) if r is not None]
    for route in defaults:
        flag = ("-inet6",) if route.version == 6 else ()
        steps.append(
            Step(
                ("route", "-qn", "delete", *flag, "default"),
                "netstart never replaces an existing default route",
                True,
                mygate,
            )
        )
    for name in names:
        itf = host.interfaces[name]
        own = (f"/etc/hostname.{name}",)
        for route in link_routes(host, name):
            steps.append(
                Step(
                    ("route", "-qn", "delete", _family(route), str(route.via)),
                    f"re-added by /etc/hostname.{name}",
                    True,
                    own,
                )
            )
        for route in network_routes(host, name):
            steps.append(
                Step(
                    ("route", "-qn", "delete", _family(route), str(route.to)),
                    f"re-added by /etc/hostname.{name}",
                    True,
                    own,
                )
            )
        if itf.static(4):
            steps.append(
                Step(
                    ("ifconfig", name, "-inet"),
                    "netstart does not remove old IPv4 addresses",
                    True,
                    own,
                )
            )
        if itf.static(6):
            steps.append(
                Step(
                    ("ifconfig", name, "-inet6"),
                    "netstart does not remove old IPv6 addresses",
                    True,
                    own,
                )
            )
        steps.append(
            Step(
                ("sh", "/etc/netstart", name),
                f"configure {name}, then mygate's default routes",
                False,
                own,
            )
        )
    gateway_interfaces = [route_interface(host, r) for r in defaults]
    for name in dict.fromkeys(n for n in gateway_interfaces if n is not None):
        steps.append(
            Step(("sh", "/etc/netstart", name), "add mygate's new default routes", False, mygate)
        )
    steps += hostname_steps(host, "/etc/myname", "/etc/myname")
    return tuple(steps)


def _family(route: Route) -> str:
    return "-inet6" if route.version == 6 else "-inet"
