"""What a renderer returns, and the facts about a host that every BSD renders alike."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface
from typing import Protocol

from bsdprov.model import (
    Host,
    Interface,
    IPAddress,
    IPInterface,
    Route,
    kind_of,
    link_route_interface,
    route_interface,
)
from bsdprov.vmd import Guest

MANAGED_HEADER = "# managed by bsdprov: local edits are overwritten on the next deploy"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """A file bsdprov owns whole."""

    path: str
    content: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "wheel"


@dataclass(frozen=True, slots=True)
class WordList:
    """A space-separated list value shared with the admin (e.g. ``cloned_interfaces``).

    bsdprov's ``words`` come first; the admin's words are kept unless ``owns`` claims them.
    """

    words: tuple[str, ...]
    owned_prefix: str = ""
    owned_words: tuple[str, ...] = ()

    def owns(self, word: str) -> bool:
        return (
            word in self.owned_words
            or bool(self.owned_prefix)
            and word.startswith(self.owned_prefix)
        )


@dataclass(frozen=True, slots=True)
class VarsEdit:
    """Managed ``name="value"`` lines in an sh-sourced file the admin also edits (rc.conf).

    ``assign`` sets keys in order (a ``WordList`` merges with the admin's words and goes when
    left empty; an empty string is written as ``name=""``); ``remove`` holds fnmatch patterns
    of keys bsdprov owns but no longer wants. Every other line is left byte for byte.
    """

    path: str
    assign: tuple[tuple[str, str | WordList], ...]
    remove: tuple[str, ...] = ()
    mode: int = 0o644
    owner: str = "root"
    group: str = "wheel"


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Managed lines in a file the admin also edits (``/etc/sysctl.conf``, ``/etc/pf.conf``).

    A line's key is its text before ``separator`` (stripped), or the whole stripped line when
    ``separator`` is None. An existing non-comment line with a managed key is replaced in place
    (later lines with that key go); a missing one is appended; a line whose key is in ``remove``
    (and not managed) is deleted. Every other byte stays.

    ``before``: first words that open a section whose lines do not count globally (dhcpcd.conf's
    ``interface``/``ssid``/``profile`` blocks). Managed lines then live before the first such
    line: one found inside a section is moved up, a missing one is inserted there.
    """

    path: str
    lines: tuple[str, ...]
    separator: str | None = None
    mode: int = 0o644
    owner: str = "root"
    group: str = "wheel"
    remove: tuple[str, ...] = ()
    before: tuple[str, ...] = ()


FileEdit = FileSpec | VarsEdit | LineEdit


@dataclass(frozen=True, slots=True)
class Step:
    """One command, as argv; ``may_fail`` for clean-ups of state that may not exist.

    ``triggers`` say which changes make a deploy run the step: a path (``/etc/hostname.vio0``)
    or a path and a key glob (``/etc/rc.conf#ifconfig_vtnet0*``). Empty: any change.
    """

    argv: tuple[str, ...]
    why: str
    may_fail: bool = False
    triggers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    """A read-only command whose output must match ``expect`` (a regex) once applied."""

    argv: tuple[str, ...]
    expect: str
    why: str


@dataclass(frozen=True, slots=True)
class Creation:
    """A path that must exist before the checks run (a VM's disk image), made by ``argv`` when
    missing. Never undone: a rollback keeps what it made, and an existing path is never
    touched.

    With ``undo``, it is made before any file is installed (the ZFS dataset a guest's files go
    into), by an ``argv`` that exits 0 when it made it and 3 when it found it there; the run
    records each it made, and only its own rollback runs ``undo`` for those (txn.sh "make")."""

    path: str
    argv: tuple[str, ...]
    why: str
    undo: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OwnedGlob:
    """Files bsdprov owns by pattern (``/etc/pf.vm/*.conf``): one it no longer renders is
    removed, and ``on_remove`` (with ``{stem}``, the name without directory and extension,
    and ``{path}``) undoes what loaded it."""

    pattern: str
    on_remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rendered:
    """A host's desired files, the OS checks to run on them, the commands that apply them and
    the checks that prove the running system took them."""

    host: str
    os: str
    release: str | None
    files: tuple[FileEdit, ...]
    checks: tuple[Step, ...] = ()
    steps: tuple[Step, ...] = ()
    verify: tuple[Check, ...] = ()
    creates: tuple[Creation, ...] = ()
    owned_globs: tuple[OwnedGlob, ...] = ()


class Renderer(Protocol):
    os: str

    def render(
        self, host: Host, release: str | None, guests: tuple[Guest, ...] = ()
    ) -> Rendered: ...


# Configuration order: physical links, then what is cloned on top of them, bridges (whose
# members must exist) and tunnels last (they may need routes), as the BSD boot scripts do.
KIND_ORDER = {
    "physical": 0,
    "vether": 1,
    "tap": 1,
    "vlan": 2,
    "bridge": 3,
    "gif": 4,
    "gre": 4,
    "tun": 4,
}


def ordered_interfaces(host: Host) -> list[tuple[str, Interface]]:
    """The host's interfaces in the order they must be configured."""

    def key(item: tuple[str, Interface]) -> tuple[int, str, int]:
        name = item[0]
        driver = name.rstrip("0123456789")
        return (KIND_ORDER.get(kind_of(name), 0), driver, int(name[len(driver) :]))

    return sorted(host.interfaces.items(), key=key)


def is_cloned(ifname: str) -> bool:
    return kind_of(ifname) != "physical"


def routes_of(host: Host) -> tuple[Route, ...]:
    return host.routes or ()


def default_route(host: Host, version: int) -> Route | None:
    return next((r for r in routes_of(host) if r.is_default and r.version == version), None)


def link_routes(host: Host, ifname: str) -> list[Route]:
    """Routes whose onlink gateway sits on ``ifname`` (one per gateway)."""
    seen: set[IPAddress] = set()
    found = []
    for route in routes_of(host):
        if link_route_interface(host, route) == ifname and route.via not in seen:
            seen.add(route.via)
            found.append(route)
    return found


def network_routes(host: Host, ifname: str) -> list[Route]:
    """Non-default routes that leave through ``ifname``."""
    return [r for r in routes_of(host) if not r.is_default and route_interface(host, r) == ifname]


def iter_addresses(itf: Interface, version: int) -> Iterator[tuple[bool, IPInterface]]:
    """(is_primary, address) for the interface's static addresses of one version."""
    for i, address in enumerate(itf.static(version)):
        yield i == 0, address


def netmask(address: IPv4Interface) -> str:
    return str(address.netmask)


def prefixlen(address: IPv6Interface, itf: Interface) -> int:
    # KAME-derived stacks refuse a destination address unless the prefix length is 128.
    return 128 if itf.peer is not None and itf.peer.version == 6 else address.network.prefixlen


def own_address(itf: Interface, version: int) -> IPInterface | None:
    static = itf.static(version)
    return static[0] if static else None


def release_at_least(release: str | None, wanted: tuple[int, ...]) -> bool:
    """Whether ``release`` (e.g. '7.6', '14.1-RELEASE') is ``wanted`` or newer; unknown = newest."""
    if release is None:
        return True
    numbers: list[int] = []
    for part in release.split("-")[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers) >= wanted


def address_pattern(address: IPInterface, slash_form: bool) -> str:
    """A regex for how ``ifconfig`` prints ``address`` (NetBSD prints ``inet A/len``)."""
    family = "inet6" if address.version == 6 else "inet"
    ip = str(address.ip).replace(".", "[.]")
    end = "[/ ]" if slash_form else "[ %]"
    return f"{family} {ip}{end}"


def verify_checks(host: Host, slash_form: bool) -> tuple[Check, ...]:
    """Addresses on interfaces and default gateways, as ``ifconfig``/``route -n get`` show."""
    found: list[Check] = []
    for name, itf in ordered_interfaces(host):
        for address in itf.addresses:
            found.append(
                Check(
                    ("ifconfig", name),
                    address_pattern(address, slash_form),
                    f"{address} is on {name}",
                )
            )
    for version in (4, 6):
        route = default_route(host, version)
        if route is not None:
            family = ("-inet6",) if version == 6 else ()
            gateway = str(route.via).replace(".", "[.]")
            found.append(
                Check(
                    ("route", "-n", "get", *family, "default"),
                    f"gateway: {gateway}( |%|$)",
                    f"default route via {route.via}",
                )
            )
    if host.hostname:
        found.append(
            Check(("hostname",), f"^{host.hostname.replace('.', '[.]')}$", "the host name is set")
        )
    return tuple(found)


def hostname_steps(host: Host, trigger: str, source: str) -> list[Step]:
    """Set the running host name, which the OS otherwise reads from ``source`` only at boot."""
    if not host.hostname:
        return []
    return [Step(("hostname", host.hostname), f"{source} is read only at boot", False, (trigger,))]
