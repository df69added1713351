"""A vmd hypervisor's ``/etc/dhcpd.conf`` (dhcpd.conf(5)): one subnet per served interface, with
a fixed address per guest whose MAC and address the inventory gives.

Unlike vm.conf, dhcpd.conf ends every statement with ``;`` and separates list items with ``,``.
"""

from __future__ import annotations

from bsdprov.model import Host
from bsdprov.render.base import MANAGED_HEADER
from bsdprov.vmd import Guest, served_subnet


def dhcpd_conf(host: Host, guests: tuple[Guest, ...]) -> str:
    """The whole file: header, then one ``subnet`` block per ``dhcp_server`` interface."""
    blocks = []
    for ifname, server in host.dhcp_server.items():
        own = served_subnet(host, ifname)
        assert own is not None, "the inventory checks that a served interface has an address"
        lines = [
            f"subnet {own.network.network_address} netmask {own.netmask} {{",
            f"\toption routers {own.ip};",
        ]
        if server.dns:
            lines.append(f"\toption domain-name-servers {', '.join(map(str, server.dns))};")
        if server.domain_name:
            lines.append(f'\toption domain-name "{server.domain_name}";')
        lines.append(f"\trange {server.range[0]} {server.range[1]};")
        for guest in guests:
            lease = guest.lease
            if lease is not None and lease.interface == ifname:
                lines += [
                    f"\thost {guest.name} {{",
                    f"\t\thardware ethernet {lease.mac};",
                    f"\t\tfixed-address {lease.address};",
                    "\t}",
                ]
        lines.append("}")
        blocks.append("\n".join(lines) + "\n")
    return f"{MANAGED_HEADER}\n" + "\n".join(blocks)
