"""Which hosts a lab of N has: names, OS, simulated management network.

Pure: the same count and OS choice always give the same hosts, so ``lab.up`` can compare what
should exist with what its state file says exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from bsdprov.errors import UsageError


@dataclass(frozen=True, slots=True)
class OsProfile:
    """What a simulated host of one OS reports: release and first physical interface."""

    key: str
    release: str
    interface: str


OS_PROFILES = {
    "openbsd": OsProfile("openbsd", "7.6", "vio0"),
    "freebsd": OsProfile("freebsd", "14.1-RELEASE", "vtnet0"),
    "netbsd": OsProfile("netbsd", "10.0", "vioif0"),
}
OS_CHOICES = (*OS_PROFILES, "mixed")
MAX_HOSTS = 999

# RFC 2544 benchmarking space: never routed, and the lab never configures it on a real
# interface (the fakes only record it), so no packet to it can leave this machine.
MANAGEMENT_SUPERNET = IPv4Network("198.18.0.0/15")
_HOSTS_PER_SUBNET = 253  # .1-.253; .254 is the simulated gateway


@dataclass(frozen=True, slots=True)
class HostSpec:
    """One lab host as it should be: its name, OS and initial simulated management config.

    ``extra_interfaces`` are more physical NICs, present but unconfigured; ``os_release``
    overrides the OS's default release. ``lab_only``: ``interface`` is the lab's own NIC, which
    the inventory does not name (a host with no static IPv4 address, see ``like.plan_like``).
    """

    name: str
    os: str
    interface: str
    address: IPv4Interface
    gateway: IPv4Address
    extra_interfaces: tuple[str, ...] = ()
    os_release: str | None = None
    lab_only: bool = False

    @property
    def release(self) -> str:
        return self.os_release or OS_PROFILES[self.os].release


def host_name(index: int) -> str:
    """Name the ``index``-th host (1-based): ``lab01`` ... ``lab99``, ``lab100`` ..."""
    return f"lab{index:02d}"


def os_of(index: int, os_choice: str) -> str:
    """The OS of the ``index``-th host; ``mixed`` cycles openbsd, freebsd, netbsd."""
    if os_choice == "mixed":
        return list(OS_PROFILES)[(index - 1) % len(OS_PROFILES)]
    return os_choice


def management_address(index: int) -> tuple[IPv4Interface, IPv4Address]:
    """The ``index``-th host's simulated address (/24) and default gateway."""
    subnet, offset = divmod(index - 1, _HOSTS_PER_SUBNET)
    base = int(MANAGEMENT_SUPERNET.network_address) + subnet * 256
    return IPv4Interface(f"{IPv4Address(base + offset + 1)}/24"), IPv4Address(base + 254)


def plan_hosts(count: int, os_choice: str) -> tuple[HostSpec, ...]:
    """Return the hosts of a lab of ``count`` hosts of ``os_choice``, in name order."""
    if os_choice not in OS_CHOICES:
        raise UsageError(f"--os: unknown OS {os_choice!r}; choose one of {', '.join(OS_CHOICES)}")
    if not 1 <= count <= MAX_HOSTS:
        raise UsageError(f"--hosts: {count} is out of range (1-{MAX_HOSTS})")
    specs = []
    for index in range(1, count + 1):
        os_key = os_of(index, os_choice)
        address, gateway = management_address(index)
        specs.append(
            HostSpec(host_name(index), os_key, OS_PROFILES[os_key].interface, address, gateway)
        )
    return tuple(specs)
