"""A vmd hypervisor's pf: ``/etc/pf.conf`` (pf.conf(5)), ``/etc/pf.bsdprov.conf`` and one anchor
file per VM, ``/etc/pf.vm/NAME.conf``, loaded into anchor ``vm/NAME``.

Every VM's taps join one interface group (``Guest.group``), so its anchor says ``on GROUP`` and
adding or removing a VM never renumbers another VM's rules (tap units follow start order).
Anchor rules use literal addresses only: ``tap0:network`` or ``(tap0)`` need the tap to exist.

Where pf sees a VM's traffic (sys/net/if_bridge.c): frames bridged between members (uplink and
tap, tap and tap) pass pf on the members, so ``on GROUP`` rules decide there. Traffic the
hypervisor itself routes or NATs to or from a VM behind an addressed member (vether) never
passes pf on the tap: host output to a member is enqueued without bridge_ip(), and frames for
the vether's own MAC go to bridge_ifinput(). pf sees it only on the vether, so the same anchor
also holds the VM's policy ``on vether0`` by the VM's addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from ipaddress import ip_network

from bsdprov.errors import RenderError
from bsdprov.model import FirewallRule, Host, IPAddress, IPNetwork
from bsdprov.render.base import MANAGED_HEADER, FileSpec, LineEdit
from bsdprov.vmd import Guest, Rule

# pf never creates a state on an ICMP reply, and an advertisement may come unsolicited.
ADVERTISEMENTS = "inet6 proto icmp6 icmp6-type { neighbradv routeradv } no state"
PF_CONF = "/etc/pf.conf"
PF_INCLUDED = "/etc/pf.bsdprov.conf"
ANCHOR_DIR = "/etc/pf.vm"


def anchor_path(guest: Guest) -> str:
    return f"{ANCHOR_DIR}/{guest.name}.conf"


def pf_files(host: Host, guests: tuple[Guest, ...]) -> list[FileSpec | LineEdit]:
    """The main ruleset (whole, or our part plus an include line) and every VM's anchor."""
    managed = _managed_part(host, guests)
    if host.firewall is not None and host.firewall.pf_conf == "owned":
        main: list[FileSpec | LineEdit] = [
            FileSpec(PF_CONF, _lines([MANAGED_HEADER, *_host_policy(host), *managed]), 0o600)
        ]
    else:
        # The admin's rules stay; ours come after them, so for the same packet ours win.
        main = [
            FileSpec(PF_INCLUDED, _lines([MANAGED_HEADER, *managed]), 0o600),
            LineEdit(PF_CONF, (f'include "{PF_INCLUDED}"',), None, 0o600),
        ]
    anchors = [FileSpec(anchor_path(g), _lines(_anchor(host, g)), 0o600) for g in guests]
    return main + anchors


def _lines(lines: Iterable[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _host_policy(host: Host) -> list[str]:
    """The owned pf.conf's own part: block by default, but keep SSH, ping and IPv6 working."""
    return [
        "set skip on lo",
        "block return log",
        "pass out",
        f"# bsdprov deploys over SSH (port {host.port}): never block that session",
        f"pass in proto tcp to port {host.port}",
        "pass in inet proto icmp icmp-type echoreq",
        # IPv6 does not work at all without neighbour discovery; advertisements need "no
        # state", as /etc/rc's boot rules have it: pf never creates a state on an ICMP reply.
        "pass in inet6 proto icmp6 icmp6-type { echoreq neighbrsol }",
        "pass in inet6 proto icmp6 icmp6-type { neighbradv routeradv } no state",
    ]


def _allow_rules(host: Host, guests: tuple[Guest, ...]) -> list[str]:
    """The hypervisor's own ``firewall.allow`` rules, in either mode."""
    allowed = host.firewall.allow if host.firewall is not None else ()
    return [
        pf_rule(
            "pass in", _host_rule(host, i, rule, guests), f"host {host.name!r}, firewall.allow[{i}]"
        )
        for i, rule in enumerate(allowed)
    ]


def _host_rule(host: Host, index: int, rule: FirewallRule, guests: tuple[Guest, ...]) -> Rule:
    """The hypervisor's own allow rule, its sources resolved: addresses, networks, or the names
    of its guests (the renderer sees no other host)."""
    by_name = {g.name: g for g in guests}
    sources: list[IPAddress | IPNetwork] = []
    for source in rule.sources or ():
        if source in by_name and by_name[source].addresses:
            sources += by_name[source].addresses
        elif source[:1].isdigit() or ":" in source:
            sources.append(
                ipaddress.ip_network(source) if "/" in source else ipaddress.ip_address(source)
            )
        else:
            raise RenderError(
                f"host {host.name!r}, firewall.allow[{index}]: {source!r} is neither an address, "
                "a network nor one of this hypervisor's guests with a known address"
            )
    return Rule(rule.proto, rule.port or (), tuple(sources))


def _managed_part(host: Host, guests: tuple[Guest, ...]) -> list[str]:
    allowed = _allow_rules(host, guests)
    lines = ["# firewall.allow: traffic to the hypervisor itself", *allowed] if allowed else []
    lines.append(
        f"# vmd hypervisor {host.name}: NAT, the switches' uplinks, then one anchor per VM"
    )
    # One rule per NAT: after a "match ... nat-to" later rules would see the translated source.
    for nat in host.nat:
        lines.append(f"pass out on {nat.out} inet from {nat.source} to any nat-to ({nat.out})")
    for switch, bridge in host.switches.items():
        lines += _switch_rules(host, switch, bridge)
    lines.append("# per-VM policy last, so that its quick rules decide for the VMs' taps")
    lines.append('anchor "vm/*"')
    # pf.conf(5): a "load anchor" must follow the anchor rule it fills.
    lines += [f'load anchor "vm/{g.name}" from "{anchor_path(g)}"' for g in guests]
    return lines


def _switch_rules(host: Host, switch: str, bridge: str) -> list[str]:
    itf = host.interfaces.get(bridge)
    members = itf.members if itf else ()
    lines = [f'# switch "{switch}" ({bridge})']
    for member in members:
        addresses = host.interfaces[member].addresses if member in host.interfaces else ()
        if not addresses:
            # A transparent uplink: the VMs' frames pass it; their policy is on their taps.
            lines.append(f"pass on {member}")
            continue
        # Routed: pf sees the VMs' routed and NATed traffic only here; each VM's anchor
        # passes its own addresses on this interface (no blanket pass of the segment).
        lines.append(f"# {member} routes for the switch: each VM's anchor decides on {member}")
        if member in host.dhcp_server:
            # A DHCPDISCOVER comes from 0.0.0.0, outside the subnet.
            lines.append(f"pass on {member} inet proto udp from port 68 to port 67")
            lines.append(f"pass on {member} inet proto udp from port 67 to port 68")
    return lines


def pf_rule(prefix: str, rule: Rule, where: str) -> str:
    """``prefix`` (``pass out quick on GROUP``) plus the rule's family, protocol, sources and
    ports; the family only when the sources fix it, so the rule covers both otherwise."""
    if rule.ports and rule.proto not in ("tcp", "udp"):
        raise RenderError(f"{where}: a port needs 'proto: tcp' or 'proto: udp'")
    versions = {source.version for source in rule.sources}
    if rule.proto == "icmp" and 6 in versions:
        raise RenderError(f"{where}: 'proto: icmp' is IPv4 only, but a source is IPv6")
    words = [prefix]
    if rule.proto == "icmp" or versions == {4}:
        words.append("inet")
    elif versions == {6}:
        words.append("inet6")
    if rule.proto:
        words.append(f"proto {rule.proto}")
    if rule.sources:
        words.append(f"from {_one_or_list(rule.sources)}")
    if rule.ports:
        words.append(f"to port {_one_or_list(rule.ports)}")
    return " ".join(words)


def _one_or_list(items: Iterable[object]) -> str:
    texts = [str(item) for item in items]
    return texts[0] if len(texts) == 1 else "{ " + " ".join(texts) + " }"


def routed_members(host: Host, guest: Guest) -> list[str]:
    """The addressed members (vether) of the switches the VM is on: the hypervisor routes
    to and from the VM through them."""
    found: list[str] = []
    for nic in guest.vm.nics:
        bridge = host.interfaces.get(host.switches.get(nic.switch, ""))
        for member in bridge.members if bridge else ():
            itf = host.interfaces.get(member)
            if itf is not None and itf.addresses and member not in found:
                found.append(member)
    return found


def _anchor(host: Host, guest: Guest) -> list[str]:
    group = guest.group
    switches = ", ".join(f'"{nic.switch}"' for nic in guest.vm.nics)
    lines = [
        MANAGED_HEADER,
        f"# anchor vm/{guest.name}: VM {guest.name}, interface group {group}, switch {switches}",
        f'# towards the VM = "out on {group}"; from the VM = "in on {group}"',
    ]
    towards = f"pass out quick on {group}"
    if guest.rules is None:
        lines.append(towards)
    else:
        for i, rule in enumerate(guest.rules):
            lines.append(pf_rule(towards, rule, f"VM {guest.name!r}, firewall[{i}]"))
        lines.append(f"{towards} inet proto icmp icmp-type echoreq")
        if guest.inet6:
            lines.append(f"{towards} inet6 proto icmp6 icmp6-type {{ echoreq neighbrsol }}")
            lines.append(f"{towards} {ADVERTISEMENTS}")
        if guest.dhcp:
            lines.append(f"{towards} inet proto udp from port 67 to port 68")
        lines.append(f"block out quick on {group}")
    lines += _from_vm(guest)
    for member in routed_members(host, guest):
        lines += _routed(guest, member, _own_sources(host, member))
    return lines


def _destinations(guest: Guest, version: int) -> list[str]:
    """The VM's addresses of one family; with SLAAC, its /64s instead of its IPv6 ones."""
    if version == 6 and guest.autoconf6:
        return sorted(
            {str(ip_network(f"{a}/64", strict=False)) for a in guest.addresses if a.version == 6}
        )
    return [str(a) for a in guest.addresses if a.version == version]


def _own_sources(host: Host, member: str) -> dict[int, str]:
    """The hypervisor's own addresses on ``member`` per family (pf list syntax): the source of
    a connection it opens to a VM behind that member."""
    found: dict[int, list[str]] = {}
    for address in host.interfaces[member].addresses:
        found.setdefault(address.version, []).append(str(address.ip))
    return {version: _one_or_list(ips) for version, ips in found.items()}


def _routed(guest: Guest, member: str, own: dict[int, str]) -> list[str]:
    """The VM's policy for what the hypervisor routes or NATs through ``member``: towards the
    VM = ``out on MEMBER to ADDR``, from the VM = ``in on MEMBER from ADDR``. A guest bsdprov
    reaches through this hypervisor (``via``) also gets its SSH port from the hypervisor's own
    address there: that session is host output on MEMBER, so the block would cut it."""
    lines = [
        f"# routed or NATed by the hypervisor: pf sees it on {member} only, not on {guest.group}",
    ]
    if not guest.addresses:
        lines.append(f"# no address is known for {guest.name}: its routed traffic is not filtered")
        return lines
    towards = f"pass out quick on {member}"
    if guest.autoconf6:
        # Its SLAAC addresses are in the prefix advertised on MEMBER's segment, which every VM
        # there shares: a rule to that /64 would decide for the other VMs too (one anchor's
        # block quick would cut their traffic, its pass let through what theirs block).
        lines.append(
            "# SLAAC addresses are unknown in advance: routed traffic to them is not filtered"
        )
    for version, family in ((4, "inet"), (6, "inet6")):
        destinations = [str(a) for a in guest.addresses if a.version == version]
        if not destinations:
            continue
        to = _one_or_list(destinations)
        if guest.rules is None:
            lines.append(f"{towards} {family} to {to}")
            continue
        for i, rule in enumerate(guest.rules):
            where = f"VM {guest.name!r}, firewall[{i}]"
            line = _routed_rule(towards, family, version, to, rule, where)
            if line:
                lines.append(line)
        if guest.jump_port is not None and version in own:
            lines.append(
                f"{towards} {family} proto tcp from {own[version]} to {to} port {guest.jump_port}"
            )
        if version == 4:
            lines.append(f"{towards} inet proto icmp to {to} icmp-type echoreq")
            if guest.dhcp:
                lines.append(f"{towards} inet proto udp from port 67 to {to} port 68")
        else:
            icmp6 = f"{towards} inet6 proto icmp6 to {to} icmp6-type"
            lines.append(f"{icmp6} {{ echoreq neighbrsol }}")
            lines.append(f"{icmp6} {{ neighbradv routeradv }} no state")
        lines.append(f"block out quick on {member} {family} to {to}")
    for version, family in ((4, "inet"), (6, "inet6")):
        lines += [
            f"pass in quick on {member} {family} from {source}"
            for source in _destinations(guest, version)
        ]
    return lines


def _routed_rule(
    prefix: str, family: str, version: int, to: str, rule: Rule, where: str
) -> str | None:
    """One firewall rule towards the VM's addresses of one family; None when its sources are
    all of the other family (or it is ICMP, IPv4 only, for IPv6)."""
    sources = [s for s in rule.sources if s.version == version]
    if (rule.sources and not sources) or (rule.proto == "icmp" and version == 6):
        return None
    if rule.ports and rule.proto not in ("tcp", "udp"):
        raise RenderError(f"{where}: a port needs 'proto: tcp' or 'proto: udp'")
    words = [prefix, family]
    if rule.proto:
        words.append(f"proto {rule.proto}")
    if sources:
        words.append(f"from {_one_or_list(sources)}")
    words.append(f"to {to}")
    if rule.ports:
        words.append(f"port {_one_or_list(rule.ports)}")
    return " ".join(words)


def _from_vm(guest: Guest) -> list[str]:
    """Anti-spoofing: the VM may only send from its own addresses."""
    group = guest.group
    came = f"pass in quick on {group}"
    if not guest.addresses:
        comment = f"# no address is known for {guest.name}: anti-spoofing needs one"
        return [comment, came, f"block in quick on {group}"]
    lines = []
    if guest.dhcp:
        lines.append(f"{came} inet proto udp from port 68 to port 67")
    if guest.inet6:
        # Neighbour discovery uses link-local and unspecified (DAD) sources.
        lines.append(f"{came} inet6 proto icmp6 icmp6-type {{ neighbrsol routersol }}")
        lines.append(f"{came} inet6 proto icmp6 icmp6-type neighbradv no state")
    for address in guest.addresses:
        if address.version == 4 or not guest.autoconf6:
            family = "inet6" if address.version == 6 else "inet"
            lines.append(f"{came} {family} from {address}")
    if guest.autoconf6:
        # SLAAC always forms /64 addresses, in the prefix the static address is in.
        prefixes = sorted(
            {str(ip_network(f"{a}/64", strict=False)) for a in guest.addresses if a.version == 6}
        )
        if prefixes:
            lines.append("# SLAAC addresses are unknown in advance: their /64 may send")
            lines += [f"{came} inet6 from {prefix}" for prefix in prefixes]
        else:
            lines.append("# SLAAC addresses are unknown in advance: no IPv6 anti-spoofing")
            lines.append(f"{came} inet6")
    lines.append(f"block in quick on {group}")
    return lines
