"""The typed inventory model: hosts, interfaces, addresses, routes.

Each field checks its own syntax here (pydantic); facts that span fields (a gateway reachable from
a subnet, one default route per family) are checked in ``inventory.check_host``. Values that end up
in files a shell evaluates on the host (descriptions, names) are restricted to characters that can
never start a command there, because netstart and rc.d ``eval`` them.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Callable
from ipaddress import (
    IPv4Address,
    IPv4Interface,
    IPv4Network,
    IPv6Address,
    IPv6Interface,
    IPv6Network,
)
from typing import Annotated, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, StrictBool, StrictInt
from pydantic_core import PydanticCustomError

OS_NAMES = ("freebsd", "openbsd", "netbsd")
OsName = Literal["freebsd", "openbsd", "netbsd"]
Become = Literal["none", "doas", "sudo"]

IPAddress: TypeAlias = IPv4Address | IPv6Address
IPInterface: TypeAlias = IPv4Interface | IPv6Interface
IPNetwork: TypeAlias = IPv4Network | IPv6Network

# netstart only configures names made of letters then digits; we hold every OS to that.
IFNAME_RE = re.compile(r"[a-z]{1,12}[0-9]{1,5}")
# Safe inside double quotes under eval: no quote, backslash, $ or backquote.
DESCRIPTION_RE = re.compile(r"[A-Za-z0-9 _.,:/@+=()#-]{1,64}")
HOSTLABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Inventory host names: they name run directories, log lines and ssh_config aliases.
HOST_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
USER_RE = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
HOST_KEY_TYPES = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
)


def invalid(message: str) -> PydanticCustomError:
    """Build a validation error whose text is exactly ``message``."""
    return PydanticCustomError("bsdprov", "{message}", {"message": message})


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise invalid(f"{value!r} is not {what}")
    return value


def parse_ip(value: object) -> IPAddress:
    text = _text(value, "an IP address")
    family = "IPv6" if ":" in text else "IPv4"
    try:
        return ipaddress.IPv6Address(text) if family == "IPv6" else ipaddress.IPv4Address(text)
    except ValueError:
        raise invalid(f"{text!r} is not an {family} address") from None


def parse_interface_address(value: object) -> IPInterface:
    text = _text(value, "an address with a prefix length, such as '192.0.2.10/24'")
    family = "IPv6" if ":" in text else "IPv4"
    address, slash, prefix = text.partition("/")
    try:
        parse_ip(address)
    except PydanticCustomError:
        raise invalid(f"{text!r} is not an {family} address") from None
    if not slash:
        example = address + ("/64" if family == "IPv6" else "/24")
        raise invalid(f"{text!r} has no prefix length; write it as {example!r} or similar")
    limit = 128 if family == "IPv6" else 32
    if not prefix.isdigit() or not 0 <= int(prefix) <= limit:
        raise invalid(f"{text!r}: prefix length {prefix!r} is out of range (0-{limit})")
    cls = ipaddress.IPv6Interface if family == "IPv6" else ipaddress.IPv4Interface
    return cls(f"{address}/{int(prefix)}")


def parse_route_destination(value: object) -> Literal["default"] | IPNetwork:
    text = _text(value, "'default' or a network such as '10.0.0.0/8'")
    if text == "default":
        return "default"
    iface = parse_interface_address(text)
    if iface.ip != iface.network.network_address:
        raise invalid(f"{text!r} has host bits set; the network is {str(iface.network)!r}")
    return iface.network


def parse_mac(value: object) -> str:
    text = _text(value, "a MAC address")
    digits = re.sub(r"[:.-]", "", text)
    if not re.fullmatch(r"[0-9A-Fa-f]{12}", digits):
        raise invalid(f"{text!r} is not a MAC address")
    if int(digits[:2], 16) & 1:
        raise invalid(f"{text!r} is a multicast MAC address and cannot be an interface's")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()


def parse_ifname(value: object) -> str:
    text = _text(value, "an interface name")
    if not IFNAME_RE.fullmatch(text):
        raise invalid(f"{text!r} is not an interface name (letters then digits, such as 'em0')")
    return text


def parse_description(value: object) -> str:
    text = _text(value, "a description")
    if not DESCRIPTION_RE.fullmatch(text):
        bad = sorted({c for c in text if not DESCRIPTION_RE.fullmatch(c)})
        if len(text) > 64:
            raise invalid(f"{text[:20] + '...'!r} is longer than 64 characters")
        if not text:
            raise invalid("a description cannot be empty; leave the key out instead")
        shown = ", ".join(repr(c) for c in bad)
        raise invalid(
            f"{text!r} contains {shown}; descriptions may use letters, digits, "
            "space and _ . , : / @ + = ( ) # -"
        )
    return text


def parse_dns_name(value: object) -> str:
    text = _text(value, "a host name")
    labels = text.rstrip(".").split(".")
    if len(text) > 253 or not all(HOSTLABEL_RE.fullmatch(label) for label in labels):
        raise invalid(f"{text!r} is not a valid host name")
    return text


def parse_address(value: object) -> str:
    """An SSH target: an IP address or a DNS name."""
    text = _text(value, "an IP address or host name")
    if re.fullmatch(r"[0-9.]+", text) or ":" in text:
        return str(parse_ip(text))
    return parse_dns_name(text)


def parse_user(value: object) -> str:
    text = _text(value, "a user name")
    if not USER_RE.fullmatch(text):
        raise invalid(f"{text!r} is not a valid user name")
    return text


def parse_host_key(value: object) -> str:
    text = _text(value, "an SSH public key such as 'ssh-ed25519 AAAA...'")
    words = text.split()
    if len(words) < 2 or words[0] not in HOST_KEY_TYPES:
        raise invalid(
            f"{text[:40]!r} is not a host key; expected 'TYPE BASE64' with TYPE one of "
            + ", ".join(HOST_KEY_TYPES)
        )
    try:
        blob = base64.b64decode(words[1], validate=True)
    except ValueError:
        raise invalid(f"the key data of {words[0]!r} is not valid base64") from None
    length = int.from_bytes(blob[:4], "big")
    if blob[4 : 4 + length] != words[0].encode():
        raise invalid(f"the key data does not hold a {words[0]!r} key")
    return f"{words[0]} {words[1]}"


def _check(fn: Callable[[object], object]) -> PlainValidator:
    return PlainValidator(fn)


Ip = Annotated[IPAddress, _check(parse_ip)]
IfAddress = Annotated[IPInterface, _check(parse_interface_address)]
RouteDestination = Annotated[Literal["default"] | IPNetwork, _check(parse_route_destination)]
Mac = Annotated[str, _check(parse_mac)]
IfName = Annotated[str, _check(parse_ifname)]
Description = Annotated[str, _check(parse_description)]
DnsName = Annotated[str, _check(parse_dns_name)]
SshAddress = Annotated[str, _check(parse_address)]
UserName = Annotated[str, _check(parse_user)]
HostKey = Annotated[str, _check(parse_host_key)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Tunnel(Strict):
    """Outer addresses of a gif/gre tunnel (the encapsulating IPv4/IPv6 header)."""

    local: Ip
    remote: Ip


class Interface(Strict):
    addresses: tuple[IfAddress, ...] = ()
    dhcp: StrictBool = False
    autoconf6: StrictBool = False
    up: StrictBool | None = None
    description: Description | None = None
    mac: Mac | None = None
    mtu: StrictInt | None = Field(default=None, ge=576, le=65535)
    parent: IfName | None = None
    vlan: StrictInt | None = Field(default=None, ge=1, le=4094)
    members: tuple[IfName, ...] = ()
    tunnel: Tunnel | None = None
    peer: Ip | None = None

    def static(self, version: int) -> tuple[IPInterface, ...]:
        """The interface's static addresses of one IP version, primary first."""
        return tuple(a for a in self.addresses if a.version == version)


class Route(Strict):
    to: RouteDestination
    via: Ip
    onlink: StrictBool = False
    interface: IfName | None = None

    @property
    def version(self) -> int:
        return self.via.version

    @property
    def is_default(self) -> bool:
        return self.to == "default"


# --- OpenBSD vmd: guests' VMs and the hypervisor's switches, NAT, DHCP and firewall ---------

# vm.conf(5) names: a letter, then letters, digits, '.', '-', '_'.
VM_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,62}")
SWITCH_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")
SIZE_RE = re.compile(r"([0-9]+)([MGT])")
PATH_RE = re.compile(r"/[A-Za-z0-9._/+-]*")


def parse_size(value: object) -> str:
    """A vmd size with its unit (``512M``, ``20G``): a bare number would mean bytes to vmd."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    text = _text(text, "a size such as '512M' or '20G'")
    match = SIZE_RE.fullmatch(text.upper())
    if match is None or int(match.group(1)) == 0:
        hint = (
            f"; vmd reads a bare number as bytes: write {text}M or {text}G"
            if text.isdigit()
            else ""
        )
        raise invalid(f"{text!r} is not a size such as '512M', '20G' or '1T'{hint}")
    return f"{int(match.group(1))}{match.group(2)}"


def size_megabytes(size: str) -> int:
    return int(size[:-1]) * {"M": 1, "G": 1024, "T": 1024 * 1024}[size[-1]]


def parse_path(value: object) -> str:
    text = _text(value, "an absolute path")
    # No '.' or '..' component: the checks on disk paths compare strings ('/var/.' would
    # pass for a directory of its own, and a disk under it lie in /var/db).
    if not PATH_RE.fullmatch(text) or "/../" in f"{text}/" or "/./" in f"{text}/" or "//" in text:
        raise invalid(
            f"{text!r} is not an absolute path of letters, digits and . _ - + / "
            "without '.' or '..' components "
            "(it is written into vm.conf and shell commands)"
        )
    return text


def _named(pattern: re.Pattern[str], what: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = _text(value, what)
        if not pattern.fullmatch(text):
            raise invalid(f"{text!r} is not {what}")
        return text

    return parse


def parse_port_list(value: object) -> tuple[int, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    ports = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 65535:
            raise invalid(f"{item!r} is not a port number (1-65535)")
        ports.append(item)
    if not ports:
        raise invalid("an empty port list matches nothing; leave 'port' out to match every port")
    return tuple(ports)


def parse_sources(value: object) -> tuple[str, ...]:
    """Firewall sources: inventory host names, addresses or networks (resolved later)."""
    items = value if isinstance(value, list | tuple) else [value]
    found = []
    for item in items:
        text = _text(item, "a host name, an address or a network")
        if "/" in text:
            found.append(str(parse_route_destination(text)))
        elif re.fullmatch(r"[0-9.]+", text) or ":" in text:
            found.append(str(parse_ip(text)))
        elif HOST_NAME_RE.fullmatch(text):
            found.append(text)
        else:
            raise invalid(f"{text!r} is not a host name, an address or a network")
    return tuple(found)


def parse_fixed_address(value: object) -> IPv4Address:
    address = parse_ip(value)
    if not isinstance(address, IPv4Address):
        raise invalid(f"{value!r}: dhcpd hands out IPv4 addresses only")
    return address


FixedAddress = Annotated[IPv4Address, _check(parse_fixed_address)]
Size = Annotated[str, _check(parse_size)]
AbsPath = Annotated[str, _check(parse_path)]
SwitchName = Annotated[
    str, _check(_named(SWITCH_NAME_RE, "a switch name (a letter, then letters, digits, _ or -)"))
]
Ports = Annotated[tuple[int, ...], _check(parse_port_list)]
Sources = Annotated[tuple[str, ...], _check(parse_sources)]
Network = Annotated[IPNetwork, _check(parse_route_destination)]


class Disk(Strict):
    path: AbsPath
    size: Size
    format: Literal["qcow2", "raw"] | None = None

    @property
    def image_format(self) -> str:
        """vmctl's rule: a ``.qcow2`` name is qcow2, anything else raw."""
        return self.format or ("qcow2" if self.path.endswith(".qcow2") else "raw")


class VmNic(Strict):
    switch: SwitchName
    mac: Mac | None = None
    # The fixed address the hypervisor's dhcpd gives this NIC (IPv4).
    address: FixedAddress | None = None


class FirewallRule(Strict):
    """Traffic allowed towards a VM (or, on a hypervisor, towards the host itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    proto: Literal["tcp", "udp", "icmp"] | None = None
    port: Ports | None = None
    sources: Sources | None = Field(default=None, alias="from")


class Vm(Strict):
    """A guest's VM on its hypervisor (OpenBSD vmd or FreeBSD bhyve through vm-bhyve):
    rendered into the hypervisor's files."""

    hypervisor: str
    memory: Size = "512M"
    # vCPUs and the boot loader: bhyve only (vmd runs one vCPU and boots its own BIOS).
    cpus: StrictInt = Field(default=1, ge=1, le=64)
    loader: Literal["bhyveload", "grub", "uefi"] | None = None
    disk: Disk
    cdrom: AbsPath | None = None
    nics: tuple[VmNic, ...] = Field(min_length=1)
    # None: no per-VM restriction towards the VM (anti-spoofing still applies).
    firewall: tuple[FirewallRule, ...] | None = None
    enabled: StrictBool = True


class Nat(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: Network = Field(alias="from")
    out: IfName


class DhcpServer(Strict):
    range: tuple[Ip, Ip]
    dns: tuple[Ip, ...] = ()
    domain_name: DnsName | None = None


class Forwarding(Strict):
    inet: StrictBool | None = None
    inet6: StrictBool | None = None


class HostFirewall(Strict):
    """How bsdprov shares pf.conf with the admin: ``include`` (default) appends one include
    line and keeps every other rule; ``owned`` writes the whole file."""

    pf_conf: Literal["include", "owned"] = "include"
    allow: tuple[FirewallRule, ...] = ()


# A ZFS dataset name as bsdprov writes it (zfsconcepts(7) allows more: spaces and ':', which
# vm-bhyve's `mount | grep "^DATASET "` and the shell would misread): a pool (a letter first),
# then components of letters, digits, '_', '.' and '-', none of them '.' or '..'.
DATASET_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)+")


def parse_vm_dir(value: object) -> str:
    """vm-bhyve's datastore: a directory, or ``zfs:pool/dataset`` (lib/vm-zfs __zfs_init)."""
    text = _text(value, "a directory such as '/vm', or 'zfs:pool/dataset'")
    if text.startswith("zfs:"):
        dataset = text[len("zfs:") :]
        parts = dataset.split("/")
        if not DATASET_RE.fullmatch(dataset) or any(p in (".", "..") for p in parts):
            raise invalid(
                f"{text!r}: give 'zfs:' a dataset below a pool, such as 'zfs:zroot/vm' "
                "(letters, digits, '_', '.' and '-', components split by '/')"
            )
        return text
    return parse_path(text)


VmDir = Annotated[str, _check(parse_vm_dir)]


class BhyveSwitch(Strict):
    """A vm-bhyve standard switch: a bridge vm-bhyve creates, with these uplink ports and
    optionally the host's address on it (``addr_NAME``: the guests' gateway behind NAT)."""

    ports: tuple[IfName, ...] = ()
    address: IfAddress | None = None


class Bhyve(Strict):
    """A FreeBSD bhyve hypervisor run by vm-bhyve (sysutils/vm-bhyve): its datastore
    (rc.conf ``vm_dir``) and the switches of its ``.config/system.conf``."""

    vm_dir: VmDir
    # With ``vm_dir: zfs:DATASET``: where DATASET is mounted (vm-bhyve reads it from mount(8));
    # default ZFS's own default, /DATASET. Checked on the host before anything is made.
    mountpoint: AbsPath | None = None
    switches: dict[SwitchName, BhyveSwitch] = Field(default_factory=dict)

    @property
    def dataset(self) -> str | None:
        """The datastore's ZFS dataset (``vm_dir: zfs:DATASET``), else None."""
        return self.vm_dir[len("zfs:") :] if self.vm_dir.startswith("zfs:") else None

    @property
    def directory(self) -> str:
        """The datastore's directory: where vm-bhyve reads system.conf and NAME/NAME.conf."""
        dataset = self.dataset
        if dataset is None:
            return self.vm_dir
        return self.mountpoint or f"/{dataset}"


class Host(Strict):
    """One managed machine: how to reach it and what its network should be."""

    name: str
    address: SshAddress | None = None
    # Where the host answered before a deploy that moves its management address to
    # ``address``: reached only when ``address`` does not answer yet (docs/deploy.md).
    previous_address: SshAddress | None = None
    port: StrictInt = Field(default=22, ge=1, le=65535)
    user: UserName = "root"
    become: Become = "none"
    os: OsName | None = None
    release: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+[A-Za-z0-9._-]*$")
    host_key: HostKey | None = None
    via: str | None = None
    ssh_config: str | None = None
    hostname: DnsName | None = None
    interfaces: dict[IfName, Interface] = Field(default_factory=dict)
    # None means "routes are not managed on this host": bsdprov then never touches them.
    routes: tuple[Route, ...] | None = None
    vm: Vm | None = None
    switches: dict[SwitchName, IfName] = Field(default_factory=dict)
    nat: tuple[Nat, ...] = ()
    dhcp_server: dict[IfName, DhcpServer] = Field(default_factory=dict)
    forwarding: Forwarding | None = None
    firewall: HostFirewall | None = None
    # On a hypervisor: the only directory its guests' disk images may be in (DEFAULT_VM_DISK_DIR).
    vm_disk_dir: AbsPath | None = None
    bhyve: Bhyve | None = None

    @property
    def is_hypervisor(self) -> bool:
        return bool(self.switches) or self.bhyve is not None


# Where VM disk images go unless a hypervisor says otherwise (the OpenBSD FAQ's vmm chapter
# and vmd's own examples keep them under /var/vmm). A disk path outside it (``/``,
# ``/etc/rc.conf``) is refused: ``vmctl create`` would write there and --purge-disks delete it.
DEFAULT_VM_DISK_DIR = "/var/vmm"
# Directories that hold the system itself: never a VM disk directory, nor inside one of them.
SYSTEM_DIRS = (
    "/",
    "/altroot",
    "/bin",
    "/boot",
    "/dev",
    "/etc",
    "/home",
    "/lib",
    "/libexec",
    "/rescue",
    "/root",
    "/sbin",
    "/stand",
    "/tmp",
    "/usr",
    "/var",
    "/var/db",
    "/var/log",
    "/var/run",
)
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/lib", "/libexec", "/sbin", "/usr", "/var/db")


def disk_dir_problem(directory: str) -> str | None:
    """Why ``directory`` cannot hold VM disk images, or None."""
    trimmed = directory.rstrip("/") or "/"
    inside = next((t for t in SYSTEM_TREES if trimmed.startswith(t + "/")), None)
    if trimmed in SYSTEM_DIRS or inside:
        return (
            f"{directory!r} holds the system itself; give a directory of its own, "
            "such as '/var/vmm'"
        )
    return None


# Keys a host may inherit from ``defaults`` and group ``vars`` (shallow: a host's own key wins).
INHERITABLE_KEYS = ("user", "port", "become", "os", "release", "via", "ssh_config")


PSEUDO_KINDS = ("vlan", "bridge", "vether", "gif", "gre", "tap", "tun", "lo")
POINT_TO_POINT_KINDS = ("gif", "gre", "tun")


def kind_of(ifname: str) -> str:
    """The driver family of an interface name: 'vlan', 'bridge', ... or 'physical'."""
    driver = ifname.rstrip("0123456789")
    return driver if driver in PSEUDO_KINDS else "physical"


def is_link_local(address: IPAddress) -> bool:
    return isinstance(address, IPv6Address) and address.is_link_local


def connected_interface(host: Host, route: Route) -> str | None:
    """The interface whose subnet (or point-to-point peer) holds the route's gateway."""
    names = [route.interface] if route.interface else list(host.interfaces)
    for name in names:
        itf = host.interfaces.get(name or "")
        if itf is None:
            continue
        if itf.peer == route.via:
            return name
        for address in itf.static(route.version):
            subnet = address.network
            if route.via in subnet and route.via != address.ip and subnet.num_addresses > 1:
                return name
    if route.interface and is_link_local(route.via):
        return route.interface
    return None


def link_route_interface(host: Host, route: Route) -> str | None:
    """For an ``onlink`` gateway outside every subnet: the interface it sits on, else None.

    Such a gateway (a failover /32's provider gateway) needs an interface host route to it
    before any route through it can be added.
    """
    if not route.onlink or connected_interface(host, route) is not None:
        return None
    if route.interface:
        return route.interface
    candidates = [n for n, itf in host.interfaces.items() if itf.static(route.version)]
    return candidates[0] if len(candidates) == 1 else None


def route_interface(host: Host, route: Route) -> str | None:
    """The interface a route leaves through, or None when the inventory does not say."""
    return connected_interface(host, route) or link_route_interface(host, route)
