"""FreeBSD bhyve hypervisors run by vm-bhyve (sysutils/vm-bhyve): what ``check`` refuses.

The guest's ``vm:`` key is the same as for vmd; the hypervisor's ``bhyve:`` key names its
datastore and switches. What vm-bhyve cannot do (or bsdprov cannot do safely with it) is
refused here with the reason, so a deploy never meets it. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bsdprov.model import Host, IPInterface, kind_of

# A path inside the inventory and the problem found there.
Path_ = tuple[str | int, ...]
Problem = tuple[str, Path_, str]

# vm-bhyve keeps a switch's settings in sh variables (type_NAME, ports_NAME in system.conf):
# a name must be a valid part of a variable name.
SWITCH_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,11}")
# vm-bhyve's util::check_name: letters, digits, '.', '_' and '-', starting with a letter or digit;
# at most 32 of them, vmm(4)'s VM_MAX_NAMELEN on FreeBSD 13 and 14 (bhyve refuses a longer one).
GUEST_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
LOADERS = {"freebsd": "bhyveload", "openbsd": "uefi", "netbsd": "uefi"}
VIRTIO_DRIVERS = {"openbsd": "vio", "freebsd": "vtnet", "netbsd": "vioif"}


def nic_mac_mismatches(guest: Host) -> list[tuple[int, str, str, str]]:
    """``(i, interface, its mac, vm.nics[i].mac)`` where the guest's interface sets another MAC
    than its NIC. vmd's and vm-bhyve's NICs are virtio-net: the guest sees NIC i as unit i of
    its OS's virtio driver (any driver when the guest's OS is not known)."""
    assert guest.vm is not None
    drivers = [VIRTIO_DRIVERS[guest.os]] if guest.os else list(VIRTIO_DRIVERS.values())
    found = []
    for i, nic in enumerate(guest.vm.nics):
        for name in (f"{driver}{i}" for driver in drivers):
            itf = guest.interfaces.get(name)
            if nic.mac is not None and itf is not None and itf.mac not in (None, nic.mac):
                found.append((i, name, str(itf.mac), nic.mac))
    return found


FIREWALL_REFUSED = (
    "per-VM firewall rules are not supported on bhyve guests: vm-bhyve creates each guest's tap "
    "when the guest starts (tapN by start order, in no interface group), so pf cannot name it "
    "safely; filter inside the guest (see docs/os/freebsd.md)"
)


def loader_of(guest: Host) -> str | None:
    """The vm-bhyve loader: the inventory's, else the one the guest's OS boots with."""
    assert guest.vm is not None
    return guest.vm.loader or LOADERS.get(guest.os or "")


def check_bhyve_host(host: Host) -> list[tuple[Path_, str]]:
    """A bhyve hypervisor's own keys: FreeBSD, switches whose ports it declares, and no
    bridge or tap of its own (vm-bhyve owns them)."""
    bhyve = host.bhyve
    if bhyve is None:
        return []
    found: list[tuple[Path_, str]] = []
    if host.os != "freebsd":
        found.append(
            (("bhyve",), f"only FreeBSD hosts run bhyve; give {host.name!r} 'os: freebsd'")
        )
    if host.switches:
        found.append((("switches",), "a bhyve hypervisor declares its switches under 'bhyve'"))
    if host.vm is not None:
        found.append((("vm",), "a bhyve hypervisor cannot itself be a VM of another one here"))
    for name in host.interfaces:
        if kind_of(name) in ("bridge", "tap"):
            found.append(
                (
                    ("interfaces", name),
                    "vm-bhyve creates and owns the bridges of its switches and the guests' taps; "
                    "declare the switch under 'bhyve: switches' instead",
                )
            )
    for i, nat in enumerate(host.nat):
        if nat.out not in host.interfaces:
            found.append((("nat", i, "out"), f"{nat.out!r} is not among the host's interfaces"))
        if nat.source.version != 4:
            found.append((("nat", i, "from"), "NAT is for IPv4 segments; route IPv6 instead"))
    if host.nat and (host.forwarding is None or host.forwarding.inet is not True):
        found.append(
            (
                ("nat",),
                "NAT for guests needs the host to forward IPv4: add 'forwarding: {inet: true}' "
                "(gateway_enable)",
            )
        )
    found += port_address_problems(host, host.release)
    if bhyve.mountpoint is not None and bhyve.dataset is None:
        found.append(
            (
                ("bhyve", "mountpoint"),
                "a mountpoint is for a ZFS datastore: write 'vm_dir: zfs:POOL/DATASET', or drop it",
            )
        )
    used: dict[str, str] = {}
    for switch, spec in bhyve.switches.items():
        at: Path_ = ("bhyve", "switches", switch)
        if not SWITCH_RE.fullmatch(switch):
            found.append(
                (
                    at,
                    f"{switch!r}: vm-bhyve switch names here are a letter then up to 11 "
                    "letters, digits or _ (sh variables in system.conf; the bridge is vm-NAME)",
                )
            )
        if spec.address is not None and spec.address.version != 4:
            found.append(
                (at + ("address",), "vm-bhyve's addr_NAME here takes an IPv4 address/prefix")
            )
        if spec.address is not None and spec.address.version == 4:
            found += [(at + ("address",), why) for why in _overlaps(host, switch, spec.address)]
        for i, port in enumerate(spec.ports):
            if port not in host.interfaces:
                found.append((at + ("ports", i), f"{port!r} is not among the host's interfaces"))
            elif port in used:
                found.append((at + ("ports", i), f"{port!r} is already a port of {used[port]!r}"))
            used.setdefault(port, switch)
    return found


# FreeBSD 15's if_bridge refuses a member that has an IPv4 or IPv6 address, and an address on
# a member (EINVAL), unless net.link.bridge.member_ifaddrs=1 (bridge(4) of 15.0, "IPV6 SUPPORT"
# and the paragraph before it; the 15.0 release notes; review D49995; the sysctl goes in 16).
BRIDGE_ADDRESSLESS_FROM = 15


def major_release(release: str | None) -> int | None:
    """The major number of a FreeBSD release ('15.0-RELEASE' -> 15); None when unknown."""
    head = (release or "").split(".")[0].split("-")[0]
    return int(head) if head.isdigit() else None


def port_address_problems(host: Host, release: str | None) -> list[tuple[Path_, str]]:
    """A switch port that holds an address on FreeBSD 15 or later: ``vm init``'s ``ifconfig
    vm-NAME addm PORT`` fails there (EINVAL), so the guests would have no uplink (and a host
    upgraded to 15 would boot with them cut off). An unknown release is not refused here: the
    plan knows the host's (``uname``) and refuses it then."""
    major = major_release(release)
    if host.bhyve is None or major is None or major < BRIDGE_ADDRESSLESS_FROM:
        return []
    found: list[tuple[Path_, str]] = []
    for switch, spec in host.bhyve.switches.items():
        for i, port in enumerate(spec.ports):
            itf = host.interfaces.get(port)
            if itf is None:
                continue
            held = [str(a) for a in (*itf.static(4), *itf.static(6))]
            held += ["DHCP"] if itf.dhcp else []
            held += ["SLAAC (autoconf6)"] if itf.autoconf6 else []
            if held:
                found.append(
                    (
                        ("bhyve", "switches", switch, "ports", i),
                        f"{port!r} holds {', '.join(held)}, and FreeBSD {release}'s if_bridge "
                        "refuses a member with an address (bridge(4): EINVAL unless "
                        "net.link.bridge.member_ifaddrs=1, a sysctl FreeBSD 16 removes): vm init "
                        f"would leave switch {switch!r} without its uplink. Make an interface "
                        "without addresses the switch's port (a second NIC, or a vlan child of "
                        f"{port} with no address); bsdprov does not move {port}'s address onto "
                        "the bridge",
                    )
                )
    return found


def _overlaps(host: Host, switch: str, address: IPInterface) -> list[str]:
    """Why the host's address on a switch clashes with its others: ifconfig puts the bridge's
    address on it, but the kernel keeps one prefix route per network (in_addprefix: the first
    interface's), so a switch on an interface's network never reaches its guests, and the same
    address twice is refused (EEXIST)."""
    assert host.bhyve is not None
    others = [(f"interface {n}", a) for n, i in host.interfaces.items() for a in i.static(4)]
    earlier = list(host.bhyve.switches)[: list(host.bhyve.switches).index(switch)]
    others += [
        (f"switch {n}", a)
        for n in earlier
        if (a := host.bhyve.switches[n].address) is not None and a.version == 4
    ]
    return [
        f"{address} overlaps {where}'s {other}: give the switch a network of its own"
        for where, other in others
        if address.network.overlaps(other.network)
    ]


def bhyve_guest_problems(
    guest: Host, hv: Host, seen: dict[tuple[str, str, str], str]
) -> list[Problem]:
    """One guest of a bhyve hypervisor: switches, loader, disk, MACs, and what bhyve lacks.
    ``seen`` holds (hypervisor, kind, value) -> first guest, shared across guests."""
    vm = guest.vm
    assert vm is not None and hv.bhyve is not None
    found: list[Problem] = []
    at: Path_ = ("vm",)

    def unique(kind: str, value: str, where: Path_) -> None:
        first = seen.setdefault((hv.name, kind, value), guest.name)
        if first != guest.name:
            found.append(
                (guest.name, where, f"{kind} {value!r} is already used by {first!r} on {hv.name!r}")
            )

    if not GUEST_RE.fullmatch(guest.name):
        found.append(
            (
                guest.name,
                at,
                "a VM's name (the host's) is a letter or digit, then letters, digits, '.', '_' "
                "or '-', at most 32 characters in all (bhyve's VM_MAX_NAMELEN)",
            )
        )
    if loader_of(guest) is None:
        found.append(
            (
                guest.name,
                at,
                "give the guest 'os' or 'vm: loader' (bhyveload, grub or uefi): "
                "vm-bhyve needs to know how to boot it",
            )
        )
    if vm.disk.image_format != "raw":
        found.append(
            (
                guest.name,
                at + ("disk", "path"),
                f"{vm.disk.path!r}: bhyve reads raw disk images only; "
                "name it .img or set format: raw",
            )
        )
    unique("disk", vm.disk.path, at + ("disk", "path"))
    found += [(guest.name, at + ("disk", "path"), why) for why in _zvol_problems(guest, hv)]
    if vm.firewall is not None:
        found.append((guest.name, at + ("firewall",), FIREWALL_REFUSED))
    for i, nic in enumerate(vm.nics):
        nat = at + ("nics", i)
        if nic.switch not in hv.bhyve.switches:
            known = ", ".join(map(repr, hv.bhyve.switches)) or "none"
            found.append(
                (
                    guest.name,
                    nat + ("switch",),
                    f"{hv.name!r} has no switch {nic.switch!r} (it has {known})",
                )
            )
        if nic.mac is not None:
            unique("MAC", nic.mac, nat + ("mac",))
        if nic.address is not None:
            found.append(
                (
                    guest.name,
                    nat + ("address",),
                    "bhyve hypervisors run no DHCP server here; "
                    "give the guest its address in 'interfaces'",
                )
            )
    for i, name, mac, nic_mac in nic_mac_mismatches(guest):
        found.append(
            (
                guest.name,
                ("interfaces", name, "mac"),
                f"{mac} differs from vm.nics[{i}].mac {nic_mac}, the MAC bhyve gives "
                f"{name}; the provider accepts only the one it assigned: use one MAC",
            )
        )
    return found


ZVOL_DIR = "/dev/zvol/"
# A ZFS dataset component (zfs_namecheck.c valid_char) within the inventory's path syntax: '+'
# is a path character zfs refuses.
ZVOL_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")


def _zvol_problems(guest: Host, hv: Host) -> list[str]:
    """A zvol disk (``/dev/zvol/...``) must be one bsdprov makes in the guest's own dataset
    (vm-bhyve's sparse-zvol disk: /dev/zvol/DATASET/NAME/DISK), on a zfs: datastore."""
    assert guest.vm is not None and hv.bhyve is not None
    path = guest.vm.disk.path
    if not path.startswith(ZVOL_DIR):
        return []
    dataset = hv.bhyve.dataset
    if dataset is None:
        return [
            f"{path!r}: zvol disks need a ZFS datastore ('vm_dir: zfs:POOL/DATASET' on "
            f"{hv.name!r}); vm-bhyve refuses ZVOL storage without it"
        ]
    own = f"{ZVOL_DIR}{dataset}/{guest.name}/"
    leaf = path[len(own) :]
    if not path.startswith(own) or not leaf or "/" in leaf:
        return [
            f"{path!r}: a zvol disk lives in the guest's own dataset: write "
            f"'{own}disk0' (vm-bhyve's sparse-zvol disk0_name)"
        ]
    if not ZVOL_NAME_RE.fullmatch(leaf):
        return [
            f"{path!r}: {leaf!r} is not a ZFS dataset name (letters, digits, '_', '.' and '-'): "
            "zfs create would refuse it"
        ]
    return []


def bhyve_problems(hosts: Mapping[str, Host]) -> list[Problem]:
    """Every bhyve guest's problems across the inventory."""
    found: list[Problem] = []
    seen: dict[tuple[str, str, str], str] = {}
    for guest in hosts.values():
        hv = hosts.get(guest.vm.hypervisor) if guest.vm else None
        if hv is not None and hv.bhyve is not None and hv.name != guest.name:
            found += bhyve_guest_problems(guest, hv, seen)
    return found
