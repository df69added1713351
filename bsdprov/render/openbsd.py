"""OpenBSD: ``/etc/hostname.IF`` (hostname.if(5)), ``/etc/mygate`` (mygate(5)), ``/etc/myname``;
a vmd hypervisor's other files come from ``hypervisor.py``.

Applied with ``sh /etc/netstart IF...`` (netstart(8)), which only adds: it neither removes old
addresses nor replaces an existing default route, so the steps clean those up first.

At boot netstart (rev 1.229, the full run) configures interfaces in passes: every type but the
delayed ones, then aggr/trunk/svlan/vlan/carp/pppoe, then ``defaultroute`` (mygate), then the
types "that rely on routing" (``DELAYED_DRIVERS``). A default route through one of those is
therefore written into that interface's own file, after its addresses, not into mygate.
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
from bsdprov.render.hypervisor import (
    forwarding_sysctls,
    render_hypervisor,
    sysctl_part,
)
from bsdprov.vmd import Guest

# netstart 1.229: `ifmstart "tun tap gif etherip gre egre nvgre eoip vxlan pflow wg"` runs after
# defaultroute, "interfaces that rely on routing".
DELAYED_DRIVERS = (
    *("tun", "tap", "gif", "etherip", "gre", "egre"),
    *("nvgre", "eoip", "vxlan", "pflow", "wg"),
)
# Tunnels whose kernel drops what they receive until a sysctl allows it (default 0):
# if_gre.c gre_input() checks gre_allow for gre, mgre, egre, nvgre and eoip alike; etherip(4)
# needs net.inet.etherip.allow. gif needs none (if_gif.c gif_input(): ipip_input, and with it
# net.inet.ipip.allow, only sees what no gif claims); wg and vxlan are UDP.
RECEIVE_SYSCTLS = {
    "gre": "net.inet.gre.allow",
    "mgre": "net.inet.gre.allow",
    "egre": "net.inet.gre.allow",
    "nvgre": "net.inet.gre.allow",
    "eoip": "net.inet.gre.allow",
    "etherip": "net.inet.etherip.allow",
}


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
        sysctls = sysctl_part(forwarding_sysctls(host) + tunnel_sysctls(host))
        rendered = Rendered(
            host.name,
            self.os,
            release,
            tuple(files) + sysctls.files,
            checks,
            _steps(host, names) + sysctls.steps,
            verify_checks(host, slash_form=False) + sysctls.verify,
        )
        if not (host.switches or host.nat or host.dhcp_server or host.firewall):
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


def driver_of(name: str) -> str:
    return name.rstrip("0123456789")


def tunnel_sysctls(host: Host) -> list[tuple[str, bool]]:
    """The sysctls the host's tunnels need to receive anything, each once, set to 1."""
    names = (RECEIVE_SYSCTLS.get(driver_of(name)) for name in host.interfaces)
    return [(name, True) for name in dict.fromkeys(n for n in names if n)]


def delayed_default(host: Host, route: Route) -> str | None:
    """The interface of a default route that boot's ``defaultroute`` cannot reach yet: its
    gateway sits on an interface netstart configures after mygate (a tunnel's peer)."""
    name = route_interface(host, route) if route.is_default else None
    return name if name is not None and driver_of(name) in DELAYED_DRIVERS else None


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
    # At boot mygate's defaults are added before this interface exists: add ours here.
    for route in _defaults(host):
        if delayed_default(host, route) == name:
            family = f"-inet{'6' if route.version == 6 else ''}"
            lines.append(f"!route -qn add {family} default {_gateway(route.via, route)}")
    has_address = bool(itf.addresses) or itf.dhcp or itf.autoconf6
    if itf.up is False:
        lines.append("down")
    elif itf.up or not has_address or kind_of(name) == "bridge":
        lines.append("up")
    return "\n".join(lines) + "\n"


def _defaults(host: Host) -> list[Route]:
    return [r for r in (default_route(host, 4), default_route(host, 6)) if r is not None]


def _mygate(host: Host) -> str:
    # netstart installs the first line of each family only; a default through a delayed
    # interface is in that interface's file instead (boot could not add it from here).
    lines = [MANAGED_HEADER]
    for route in _defaults(host):
        if delayed_default(host, route) is None:
            lines.append(_gateway(route.via, route))
    return "\n".join(lines) + "\n"


def _steps(host: Host, names: tuple[str, ...]) -> tuple[Step, ...]:
    mygate = ("/etc/mygate",)
    steps: list[Step] = []
    defaults = _defaults(host)
    for route in defaults:
        flag = ("-inet6",) if route.version == 6 else ()
        delayed = delayed_default(host, route)
        steps.append(
            Step(
                ("route", "-qn", "delete", *flag, "default"),
                "netstart never replaces an existing default route",
                True,
                (f"/etc/hostname.{delayed}",) if delayed else mygate,
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
        if itf.parent is not None:
            # if_vlan.c vlan_set_parent() refuses a new parent while the vlan runs (EBUSY):
            # netstart's `parent P` would leave a live vlan on its old parent until a boot,
            # which creates it fresh.
            steps.append(
                Step(
                    ("ifconfig", name, "down"),
                    f"a running vlan keeps its parent: /etc/hostname.{name} sets it",
                    True,
                    own,
                )
            )
        steps += _address_cleanup(name, itf, own)
        steps.append(
            Step(
                ("sh", "/etc/netstart", name),
                f"configure {name}, then mygate's default routes",
                False,
                own,
            )
        )
        if itf.parent is not None and itf.up is not False:
            # Up as at boot, where an address, autoconf or `up` brings a fresh vlan up.
            steps.append(Step(("ifconfig", name, "up"), f"{name} runs again", False, own))
    in_mygate = [r for r in defaults if not delayed_default(host, r)]
    gateway_interfaces = [route_interface(host, r) for r in in_mygate]
    for name in dict.fromkeys(n for n in gateway_interfaces if n is not None):
        steps.append(
            Step(("sh", "/etc/netstart", name), "add mygate's new default routes", False, mygate)
        )
    steps += hostname_steps(host, "/etc/myname", "/etc/myname")
    return tuple(steps)


def _address_cleanup(name: str, itf: Interface, own: tuple[str, ...]) -> list[Step]:
    """Start each family from what boot starts from, then let netstart apply the file: netstart
    only ever adds addresses and sets autoconf flags. So clear the flag (ifconfig.c
    setautoconf(); while AUTOCONF4/AUTOCONF6 stay on, dhcpleased/slaacd keep adding leases and
    routes; current in_ifdetach()/in6_ifdetach() also clear it on ``-inet``/``-inet6``, older
    kernels did not), then remove the family's addresses. The file's ``autoconf`` lines set the
    flag again; done whatever the file says, the same steps also undo a change on rollback."""
    if kind_of(name) == "bridge":
        return []
    found = []
    for version, family, autoconf, agent in (
        (4, "inet", itf.dhcp, "dhcpleased"),
        (6, "inet6", itf.autoconf6, "slaacd"),
    ):
        wants = f"sets it again for {agent}" if autoconf else f"sets none: {agent} leaves it"
        found.append(
            Step(
                ("ifconfig", name, family, "-autoconf"),
                f"netstart never clears the {family} autoconf flag (/etc/hostname.{name} {wants})",
                True,
                own,
            )
        )
        static = "its file re-adds the static ones" if itf.static(version) else "its file sets none"
        found.append(
            Step(
                ("ifconfig", name, f"-{family}"),
                f"netstart does not remove old IPv{version} addresses ({static})",
                True,
                own,
            )
        )
    return found


def _family(route: Route) -> str:
    return "-inet6" if route.version == 6 else "-inet"
