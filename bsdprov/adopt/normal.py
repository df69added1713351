"""The normal form of a host: what ``import`` gives back for a host bsdprov rendered.

Rendering forgets a few choices that mean nothing on the host, so parse(render(host)) equals
``normal_form(host)``, not always ``host`` itself:

- only the network keys are read back (``address`` and ``os`` are given; ``user``, ``port``,
  ``become``, ``via``, ``release``, ``host_key`` and ``ssh_config`` are not on the host);
- an interface's IPv4 addresses come before its IPv6 ones (each family keeps its order);
- ``up: true`` is implied where the OS file says ``up`` anyway (OpenBSD and NetBSD: an
  interface without an address; FreeBSD: one without a static IPv4 address or DHCP) and
  dropped where it is not written (a bridge; FreeBSD: an interface with an IPv4 address);
- routes: ``onlink`` only for a gateway outside every subnet, ``interface`` only where it is
  needed to find the interface (a link-local gateway, a choice among several); on FreeBSD and
  NetBSD an empty ``routes: []`` reads back as unmanaged (no key), since neither writes it;
- a hypervisor's ``firewall`` with ``pf_conf: include`` and no ``allow`` is no key; firewall
  sources that named hosts are their addresses; a DHCP guest's lease is its NIC's ``address``;
  a disk ``format`` its file name implies is no key.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv6Interface
from typing import Any

from bsdprov.model import Host, Interface, Route, connected_interface, is_link_local, kind_of
from bsdprov.model import route_interface as leaves_through
from bsdprov.vmd import host_addresses, resolve_guest

NETWORK_KEYS = ("hostname", "interfaces", "routes", "switches", "nat", "dhcp_server", "forwarding")


def normal_form(host: Host, os: str, hosts: Mapping[str, Host] | None = None) -> dict[str, Any]:
    """``host``'s network keys in normal form, as comparable plain data (``hosts``: the
    inventory, to resolve a hypervisor's firewall sources that name its guests)."""
    data: dict[str, Any] = {key: getattr(host, key) for key in NETWORK_KEYS}
    data["interfaces"] = {name: _interface(name, itf, os) for name, itf in host.interfaces.items()}
    if host.routes is not None:
        routes = [_route(host, r) for r in host.routes]
        data["routes"] = None if not routes and os != "openbsd" else tuple(sorted(routes, key=str))
    else:
        data.pop("routes", None)
        data["routes"] = None
    firewall = host.firewall
    keep = firewall is not None and (firewall.pf_conf == "owned" or bool(firewall.allow))
    if firewall is not None and keep:
        known = hosts or {}
        allow = tuple(
            rule.model_copy(update={"sources": _addresses(rule.sources, known)})
            for rule in firewall.allow
        )
        firewall = firewall.model_copy(update={"allow": allow})
    data["firewall"] = firewall if keep else None
    normal = Host(name=host.name, address=host.address, os=os).model_copy(update=data)
    return normal.model_dump(mode="json", exclude_defaults=True, by_alias=True, warnings=False)


def _addresses(
    sources: tuple[str, ...] | None, hosts: Mapping[str, Host]
) -> tuple[str, ...] | None:
    if sources is None:
        return None
    found: list[str] = []
    for source in sources:
        found += [str(a) for a in host_addresses(hosts[source])] if source in hosts else [source]
    return tuple(found)


def _interface(name: str, itf: Interface, os: str) -> Interface:
    addresses = itf.static(4) + itf.static(6)
    has_address = bool(addresses) or itf.dhcp or itf.autoconf6
    up = itf.up
    if os == "freebsd":
        if up and (itf.static(4) or itf.dhcp):
            up = None
        elif up is None and not (itf.static(4) or itf.dhcp):
            up = True
    elif kind_of(name) == "bridge":
        up = None if up else up
    elif up is None and not (has_address if os == "openbsd" else (itf.addresses or itf.dhcp)):
        up = True
    if itf.peer is not None and itf.peer.version == 6 and itf.static(6):
        # KAME stacks take a destination only with prefixlen 128: that is what is written.
        first = itf.static(6)[0]
        addresses = itf.static(4) + (IPv6Interface(f"{first.ip}/128"),) + itf.static(6)[1:]
    return itf.model_copy(update={"addresses": addresses, "up": up})


def _route(host: Host, route: Route) -> Route:
    if is_link_local(route.via):
        return route
    found_on = leaves_through(host, route)
    bare = route.model_copy(update={"interface": None})
    onlink = route.onlink and connected_interface(host, bare) is None
    bare = bare.model_copy(update={"onlink": onlink})
    if found_on is not None and leaves_through(host, bare) != found_on:
        return bare.model_copy(update={"interface": found_on})
    return bare


def normal_vm(guest: Host, hosts: Mapping[str, Host]) -> dict[str, Any]:
    """A guest's ``vm`` in normal form: sources resolved to addresses, the lease explicit."""
    vm = guest.vm
    assert vm is not None
    resolved = resolve_guest(guest, hosts[vm.hypervisor], hosts)
    nics = []
    for nic in vm.nics:
        lease = resolved.lease
        address = lease.address if lease is not None and lease.mac == nic.mac else nic.address
        nics.append(nic.model_copy(update={"address": address}))
    firewall = None
    if resolved.rules is not None:
        firewall = [
            {
                **({"proto": r.proto} if r.proto else {}),
                **({"port": list(r.ports)} if r.ports else {}),
                **({"from": [str(s) for s in r.sources]} if r.sources else {}),
            }
            for r in resolved.rules
        ]
    disk = vm.disk.model_dump(exclude_none=True)
    if vm.disk.format == ("qcow2" if vm.disk.path.endswith(".qcow2") else "raw"):
        disk.pop("format")
    normal = vm.model_copy(
        update={
            "nics": tuple(nics),
            "disk": vm.disk.model_copy(update=disk | {"format": disk.get("format")}),
        }
    )
    data = normal.model_dump(mode="json", exclude_defaults=True, by_alias=True, warnings=False)
    data.pop("firewall", None)
    if firewall is not None:
        data["firewall"] = firewall
    return data
