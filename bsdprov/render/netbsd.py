"""NetBSD: ``/etc/ifconfig.IF`` (ifconfig.if(5)), ``defaultroute``/``hostname`` in rc.conf and
``denyinterfaces`` lines in ``/etc/dhcpcd.conf`` (dhcpcd.conf(5)).

rc.d/network runs each ifconfig.IF, ``!`` lines included, before ``route add default
$defaultroute``, and ``/etc/netstart.local`` only after it; so the host route to an onlink
gateway goes in the interface file and the default stays in rc.conf. An ``ifconfig_IF`` variable
in rc.conf silently replaces the file, so bsdprov removes it for the interfaces it manages.
Applied with targeted commands derived from the same lines, because ``/etc/rc.d/network
restart`` takes every interface down and flushes every route.
"""

from __future__ import annotations

import ipaddress

from bsdprov.errors import RenderError
from bsdprov.model import Host, Interface, kind_of, route_interface
from bsdprov.render.base import (
    MANAGED_HEADER,
    FileSpec,
    LineEdit,
    Rendered,
    Step,
    VarsEdit,
    default_route,
    hostname_steps,
    iter_addresses,
    link_routes,
    netmask,
    network_routes,
    ordered_interfaces,
    own_address,
    prefixlen,
    release_at_least,
    verify_checks,
)
from bsdprov.vmd import Guest


def release_problem(name: str, release: str | None) -> str | None:
    """Why interface ``name`` cannot exist on NetBSD ``release`` (None: it can, or unknown).

    vether(4): "first appeared in OpenBSD 4.7 and NetBSD 10" (share/man/man4/vether.4), so
    before 10 ``ifconfig vether0 create`` fails and the bridge comes up without it.
    """
    if kind_of(name) == "vether" and not release_at_least(release, (10,)):
        return (
            f"vether(4) first appeared in NetBSD 10, but the release is {release!r}; "
            "use a tap interface (tap(4) is an Ethernet interface that takes an address "
            "and joins a bridge on every release)"
        )
    return None


class NetBSDRenderer:
    os = "netbsd"

    def render(self, host: Host, release: str | None, guests: tuple[Guest, ...] = ()) -> Rendered:
        for name in host.interfaces:
            problem = release_problem(name, release)
            if problem is not None:
                raise RenderError(f"host {host.name!r}, interfaces.{name}: {problem}")
        for name, itf in host.interfaces.items():
            for member in itf.members:
                problem = bridge_mtu_problem(host, name, member)
                if problem is not None:
                    raise RenderError(f"host {host.name!r}, interfaces.{name}.members: {problem}")
        interfaces = ordered_interfaces(host)
        lines = {name: _lines(host, name, itf, release) for name, itf in interfaces}
        files: list[FileSpec | VarsEdit | LineEdit] = [
            FileSpec(f"/etc/ifconfig.{name}", "\n".join([MANAGED_HEADER, *body]) + "\n")
            for name, body in lines.items()
        ]
        assign: list[tuple[str, str]] = []
        remove = [f"ifconfig_{name}" for name in lines]
        if host.hostname:
            assign.append(("hostname", host.hostname))
        if host.routes is not None:
            remove += ["defaultroute", "defaultroute6"]
            for key, version in (("defaultroute", 4), ("defaultroute6", 6)):
                route = default_route(host, version)
                if route is not None:
                    assign.append((key, _gateway(route.via, route.interface)))
        if assign or remove:
            files.append(VarsEdit("/etc/rc.conf", tuple(assign), tuple(remove)))
        if lines:
            files.append(_dhcpcd_conf(host))
        checks = (Step(("sh", "-n", "/etc/rc.conf"), "rc.conf is sourced by sh at boot"),)
        return Rendered(
            host.name,
            self.os,
            release,
            tuple(files),
            checks,
            _steps(host, lines),
            verify_checks(host, slash_form=True),
        )


DHCPCD_CONF = "/etc/dhcpcd.conf"
# The words that open a dhcpcd.conf block (if-options.c read_config).
DHCPCD_BLOCKS = ("interface", "ssid", "profile")


def _dhcpcd_conf(host: Host) -> LineEdit:
    """Deny dhcpcd every interface bsdprov configures itself (dhcpcd.conf(5) denyinterfaces).

    With ``dhcpcd=YES`` in rc.conf, rc.d/dhcpcd starts one dhcpcd for every interface it is
    not denied, after rc.d/network: it would add a lease address and routes next to the static
    ones at every boot. An interface with ``dhcp: true`` loses its line, so dhcpcd takes it.
    The lines go before the first ``interface``/``ssid``/``profile`` block: read_config
    (if-options.c) skips a block's lines when it reads the global options, and parse_option
    takes ``denyinterfaces`` only from those, so a line after a block denies nothing.
    """
    static = [name for name, itf in host.interfaces.items() if not itf.dhcp]
    dynamic = [name for name, itf in host.interfaces.items() if itf.dhcp]
    return LineEdit(
        DHCPCD_CONF,
        tuple(f"denyinterfaces {name}" for name in static),
        remove=tuple(f"denyinterfaces {name}" for name in dynamic),
        before=DHCPCD_BLOCKS,
    )


def _gateway(address: object, interface: str | None) -> str:
    text = str(address)
    scoped = interface is not None and ipaddress.ip_address(text).is_link_local
    return f"{text}%{interface}" if scoped else text


def _lines(host: Host, name: str, itf: Interface, release: str | None) -> list[str]:
    lines: list[str] = []
    if itf.parent is not None and itf.vlan is not None:
        lines.append(_vlan_line(name, itf.vlan, itf.parent))
    if itf.tunnel is not None:
        lines.append(f"tunnel {itf.tunnel.local} {itf.tunnel.remote}")
    if itf.mac:
        lines.append(f"link {itf.mac} active")
    if itf.mtu:
        lines.append(f"mtu {itf.mtu}")
    if itf.description:
        # ifconfig learned "description" in NetBSD 10; older releases keep it as a comment.
        if release_at_least(release, (10,)):
            lines.append(f'description "{itf.description}"')
        else:
            lines.append(f"# description: {itf.description}")
    for primary, address in iter_addresses(itf, 4):
        peer = f" {itf.peer}" if primary and itf.peer is not None and itf.peer.version == 4 else ""
        alias = "" if primary else " alias"
        lines.append(f"inet {address.ip}{peer} netmask {netmask(address)}{alias}")  # type: ignore[arg-type]
    if itf.dhcp:
        lines.append("dhcp")
    for primary, address in iter_addresses(itf, 6):
        peer = f" {itf.peer}" if primary and itf.peer is not None and itf.peer.version == 6 else ""
        lines.append(f"inet6 {address.ip}{peer} prefixlen {prefixlen(address, itf)} alias")  # type: ignore[arg-type]
    for member in itf.members:
        lines += _member_ready(host, member)
        lines.append(f"!/sbin/brconfig {name} add {member}")
    for route in link_routes(host, name):
        family = " -inet6" if route.version == 6 else ""
        source = own_address(itf, route.version)
        lines.append(
            f"!/sbin/route -q add{family} -host {route.via} -iface {source.ip if source else name}"
        )
    for route in network_routes(host, name):
        family = " -inet6" if route.version == 6 else ""
        lines.append(
            f"!/sbin/route -q add{family} -net {route.to} {_gateway(route.via, route.interface)}"
        )
    has_address = bool(itf.addresses) or itf.dhcp
    if itf.up is False:
        lines.append("down")
    elif itf.up or not has_address or kind_of(name) == "bridge":
        lines.append("up")
    return lines


ETHERMTU = 1500


def _mtu(host: Host, name: str) -> int:
    """The MTU ``name`` has once configured: its own, a vlan's parent's (vlan_config in
    sys/net/if_vlan.c copies it), or Ethernet's default."""
    itf = host.interfaces.get(name)
    if itf is not None and itf.mtu:
        return itf.mtu
    if itf is not None and kind_of(name) == "vlan" and itf.parent:
        return _mtu(host, itf.parent)
    return ETHERMTU


def bridge_mtu_problem(host: Host, bridge: str, member: str) -> str | None:
    """bridge_ioctl_add (sys/net/if_bridge.c) refuses, with EINVAL, a member whose MTU is not
    the bridge's: the member would be missing from the bridge at activation and at boot."""
    want, have = _mtu(host, bridge), _mtu(host, member)
    if want == have:
        return None
    return (
        f"{member}'s MTU is {have} but {bridge}'s is {want}, and NetBSD's bridge refuses a "
        f"member whose MTU differs (bridge_ioctl_add: EINVAL); give {member} 'mtu: {want}'"
        + (" (a vlan takes its parent's MTU)" if kind_of(member) == "vlan" else "")
    )


def _member_ready(host: Host, member: str) -> list[str]:
    """``!`` lines that make a bridge member fit for ``brconfig add``, whatever the boot order.

    rc.d/network configures the ``ifconfig.<cloner>N`` files cloner by cloner, in the order
    ``ifconfig -C`` lists them (the kernel's, not alphabetical), so the bridge's file may run
    before its member's. bridge_ioctl_add (sys/net/if_bridge.c) takes only an interface of
    Ethernet type, and a vlan has that type only once vlan_config gave it a parent
    (sys/net/if_vlan.c): so a cloned member is created here, and a vlan member also given its
    tag and parent (``_vlan_line``), as its own file does.
    """
    if kind_of(member) == "physical":
        return []
    lines = [f"!/sbin/ifconfig {member} >/dev/null 2>&1 || /sbin/ifconfig {member} create"]
    itf = host.interfaces.get(member)
    if kind_of(member) == "vlan" and itf is not None and itf.parent and itf.vlan is not None:
        lines.append(_vlan_line(member, itf.vlan, itf.parent))
    if itf is not None and itf.mtu:
        # bridge_ioctl_add compares MTUs: the member's own file may only run later.
        lines.append(f"!/sbin/ifconfig {member} mtu {itf.mtu}")
    return lines


def _vlan_line(name: str, tag: int, parent: str) -> str:
    """Give vlan ``name`` its tag and parent unless it has them: the bridge's file may have
    done it first at boot, and vlan_config (sys/net/if_vlan.c) answers a second SIOCSETVLAN
    with EBUSY. The check reads ``ifconfig``'s "vlan: N parent: P" line (sbin/ifconfig/vlan.c).
    """
    return (
        f'!case "$(/sbin/ifconfig {name})" in *"vlan: {tag} parent: {parent}"*) ;; '
        f"*) /sbin/ifconfig {name} vlan {tag} vlanif {parent} ;; esac"
    )


def _default_triggers(host: Host, version: int) -> tuple[str, ...]:
    """A default route is replaced when rc.conf's gateway or its interface's file changes."""
    route = default_route(host, version)
    if route is None:
        return ()
    key = "defaultroute6" if version == 6 else "defaultroute"
    name = route_interface(host, route)
    return (f"/etc/rc.conf#{key}",) + ((f"/etc/ifconfig.{name}",) if name else ())


IFUP = "/var/db/bsdprov/lib/netbsd-ifup"


def _steps(host: Host, lines: dict[str, list[str]]) -> tuple[Step, ...]:
    # Activation reads only the installed files (through IFUP, which applies them as
    # rc.d/network does), so a rollback that restores the old files re-applies exactly those.
    steps: list[Step] = []
    default_triggers = tuple(dict.fromkeys(_default_triggers(host, 4) + _default_triggers(host, 6)))
    for version, flag in ((4, ()), (6, ("-inet6",))):
        if default_route(host, version) is not None:
            steps.append(
                Step(
                    ("route", "-q", "delete", *flag, "default"),
                    "re-added through the new gateway below",
                    True,
                    default_triggers,
                )
            )
    names = tuple(lines)
    if names:
        steps.append(
            Step(
                ("sh", IFUP, "release", *names),
                "dhcpcd -k (release) for each interface dhcpcd.conf denies, before they are set",
                False,
                (DHCPCD_CONF,),
            )
        )
    for name in lines:
        own = (f"/etc/ifconfig.{name}", f"/etc/rc.conf#ifconfig_{name}")
        # ifup re-adds these routes; an old copy would make the add fail with "File exists".
        cleanups = [("-host", r.version, str(r.via)) for r in link_routes(host, name)]
        cleanups += [("-net", r.version, str(r.to)) for r in network_routes(host, name)]
        for kind, version, target in cleanups:
            flag = ("-inet6",) if version == 6 else ()
            argv = ("route", "-q", "delete", *flag, kind, target)
            steps.append(Step(argv, "re-added by the interface's own line", True, own))
        steps.append(
            Step(
                ("sh", IFUP, name),
                f"apply /etc/ifconfig.{name} line by line, as rc.d/network does",
                False,
                own,
            )
        )
    if default_triggers:
        steps.append(
            Step(
                ("sh", IFUP, "defaultroute"),
                "route add default $defaultroute (and defaultroute6) from rc.conf",
                False,
                default_triggers,
            )
        )
    if names:
        steps.append(
            Step(
                ("sh", IFUP, "bind", *names),
                "with dhcpcd=YES, dhcpcd -n for each interface it may take, as at boot",
                False,
                (DHCPCD_CONF,),
            )
        )
    steps += hostname_steps(host, "/etc/rc.conf#hostname", "rc.conf's hostname")
    return tuple(steps)
