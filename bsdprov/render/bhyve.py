"""A FreeBSD bhyve hypervisor run by vm-bhyve (vm(8), sysutils/vm-bhyve).

- rc.conf: ``vm_enable``, ``vm_dir`` and ``vm_list`` (the guests started at boot, in order), as
  managed keys beside the network ones.
- ``VM_DIR/.config/system.conf``: the switches (``switch_list``, ``type_NAME``, ``ports_NAME``),
  managed keys only: the admin's own switches and settings stay.
- ``VM_DIR/.config/bsdprov-switches``: bsdprov's record of the switches it declared (one name a
  line), so a switch the inventory drops is known to be bsdprov's and leaves system.conf and
  the running system (``lifecycle.with_dropped_switches``); vm-bhyve never reads it.
- ``VM_DIR/NAME/NAME.conf`` per guest: managed keys only, so what vm-bhyve writes there itself
  (``uuid`` on first start) or the admin adds (``graphics``) stays.
- Disk images made with ``truncate -s`` (as ``vm create`` does) when missing, never touched
  when present.

vm-bhyve creates each switch's bridge (``vm-NAME``) at ``vm init`` and each guest's tap at
``vm start``: they are never in ``cloned_interfaces``, and no netif restart touches them. The
activation helper ``bhyve-apply`` brings the running state in line with the files, whichever
way they changed, so the same step serves a deploy and its rollback.
"""

from __future__ import annotations

from dataclasses import dataclass

from bsdprov.model import Host
from bsdprov.render.base import (
    MANAGED_HEADER,
    Check,
    Creation,
    FileEdit,
    FileSpec,
    LineEdit,
    OwnedGlob,
    Step,
    VarsEdit,
    WordList,
)
from bsdprov.render.pf import PF_CONF, PF_INCLUDED
from bsdprov.vmd import Guest

RC_CONF = "/etc/rc.conf"
BHYVE_APPLY = "/var/db/bsdprov/lib/bhyve-apply"
ZFS_DATASET = "/var/db/bsdprov/lib/zfs-dataset"
ZVOL_DIR = "/dev/zvol"
VM = "/usr/local/sbin/vm"
UEFI_FIRMWARE = "/usr/local/share/uefi-firmware/BHYVE_UEFI.fd"
# NICs and disks vm-bhyve reads are numbered from 0 until the first gap; bsdprov owns the keys of
# this many of each, so a NIC or disk the inventory drops loses its keys.
OWNED_SLOTS = 8


@dataclass(frozen=True, slots=True)
class BhyvePart:
    """What a bhyve hypervisor adds to its FreeBSD rendering."""

    rc_conf: tuple[tuple[str, str | WordList], ...]
    files: tuple[FileEdit, ...]
    checks: tuple[Step, ...]
    steps: tuple[Step, ...]
    verify: tuple[Check, ...]
    creates: tuple[Creation, ...]
    owned_globs: tuple[OwnedGlob, ...] = ()


# forwarding's families: the rc.conf key rc.d/routing's options_inet/options_inet6 read, and the
# sysctl they set from it.
GATEWAYS = (
    ("inet", "gateway_enable", "net.inet.ip.forwarding"),
    ("inet6", "ipv6_gateway_enable", "net.inet6.ip6.forwarding"),
)


def forwarding(host: Host) -> list[tuple[str, str, bool]]:
    """(rc.conf key, sysctl, on) per family the inventory's ``forwarding`` names."""
    wanted = host.forwarding
    if wanted is None:
        return []
    found = [(key, sysctl, getattr(wanted, family)) for family, key, sysctl in GATEWAYS]
    return [(key, sysctl, on) for key, sysctl, on in found if on is not None]


def system_conf(vm_dir: str) -> str:
    return f"{vm_dir}/.config/system.conf"


def switch_record(vm_dir: str) -> str:
    return f"{vm_dir}/.config/bsdprov-switches"


def recorded_switches(text: str | None) -> tuple[str, ...]:
    """The switch names a record holds (comments and blank lines aside)."""
    lines = (line.strip() for line in (text or "").splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


# The system.conf keys bsdprov writes for a switch (vm-bhyve's switch::standard::create).
SWITCH_KEYS = ("type_{}", "ports_{}", "addr_{}")
# FreeBSD pf (pf.conf(5), FreeBSD 13/14): NAT is a translation rule of its own, loaded into this
# anchor; pf.conf gets the anchor's hook and its load line before its first filter rule, since
# pfctl refuses translation after filtering (parse.y check_rulestate, "Rules must be in order").
NAT_ANCHOR = "bsdprov"
PF_HOOK = (f'nat-anchor "{NAT_ANCHOR}"', f'load anchor "{NAT_ANCHOR}" from "{PF_INCLUDED}"')
FILTER_WORDS = ("pass", "block", "match", "antispoof", "anchor")
NAT_LOAD = ("pfctl", "-a", NAT_ANCHOR, "-f", PF_INCLUDED)


def admin_statements(pf_conf: str | None) -> tuple[str, ...]:
    """pf.conf's lines that are not bsdprov's hook, comments or blank: the admin's ruleset."""
    lines = (line.strip() for line in (pf_conf or "").splitlines())
    return tuple(
        line for line in lines if line and not line.startswith("#") and line not in PF_HOOK
    )


def system_conf_edit(
    vm_dir: str,
    switches: dict[str, tuple[str, ...]],
    dropped: tuple[str, ...] = (),
    addresses: dict[str, str] | None = None,
) -> VarsEdit:
    """system.conf's managed keys: each switch (name -> ports) in ``switch_list`` with its type
    and ports; each ``dropped`` switch (recorded as bsdprov's, no longer wanted) leaves
    ``switch_list`` with its keys. The admin's own switches stay."""
    names = tuple(switches)
    owned = names + tuple(d for d in dropped if d not in names)
    assign: list[tuple[str, str | WordList]] = [("switch_list", WordList(names, owned_words=owned))]
    remove: list[str] = [key.format(d) for d in dropped if d not in names for key in SWITCH_KEYS]
    for name, ports in switches.items():
        assign.append((f"type_{name}", "standard"))
        if ports:
            assign.append((f"ports_{name}", " ".join(ports)))
        else:
            remove.append(f"ports_{name}")
        address = (addresses or {}).get(name)
        if address:
            assign.append((f"addr_{name}", address))
        else:
            remove.append(f"addr_{name}")
    return VarsEdit(system_conf(vm_dir), tuple(assign), tuple(remove))


def guest_conf(vm_dir: str, name: str) -> str:
    return f"{vm_dir}/{name}/{name}.conf"


def autostarted(guests: tuple[Guest, ...]) -> tuple[str, ...]:
    return tuple(g.name for g in guests if g.vm.enabled)


def render_bhyve(host: Host, guests: tuple[Guest, ...]) -> BhyvePart:
    bhyve = host.bhyve
    assert bhyve is not None
    # Files live in the datastore's directory (a zfs: datastore's mountpoint); rc.conf names
    # the datastore as vm-bhyve reads it.
    vm_dir = bhyve.directory
    rc_conf: tuple[tuple[str, str | WordList], ...] = (
        ("vm_enable", "YES"),
        ("vm_dir", bhyve.vm_dir),
        ("vm_list", " ".join(autostarted(guests))),
        *((key, "YES" if on else "NO") for key, _, on in forwarding(host)),
        *((("pf_enable", "YES"),) if host.nat else ()),
    )
    switches = {name: switch.ports for name, switch in bhyve.switches.items()}
    addresses = {n: str(s.address) for n, s in bhyve.switches.items() if s.address is not None}
    record = "".join(f"{line}\n" for line in (MANAGED_HEADER, *switches))
    files: list[FileEdit] = [
        system_conf_edit(vm_dir, switches, addresses=addresses),
        FileSpec(switch_record(vm_dir), record),
        *nat_files(host),
    ]
    files += [_guest_file(vm_dir, g) for g in guests]
    return BhyvePart(
        rc_conf,
        tuple(files),
        _checks(host, vm_dir, guests),
        _steps(host, guests),
        _verify(host, guests),
        _makes(bhyve.dataset, vm_dir, guests) + _creations(vm_dir, guests),
        () if host.nat else (NAT_GONE,),
    )


def nat_files(host: Host) -> list[FileEdit]:
    """The NAT rules (their own file, loaded into anchor "bsdprov") and pf.conf's hook; with
    no NAT, an edit that takes the hook out of a pf.conf that has it (and never makes one):
    NAT dropped from the inventory goes (``NAT_GONE`` removes the rules file)."""
    if not host.nat:
        return [LineEdit(PF_CONF, (), None, 0o600, remove=PF_HOOK)]
    rules = [f"nat on {n.out} inet from {n.source} to any -> ({n.out})" for n in host.nat]
    return [
        FileSpec(PF_INCLUDED, "".join(f"{line}\n" for line in (MANAGED_HEADER, *rules)), 0o600),
        LineEdit(PF_CONF, PF_HOOK, None, 0o600, before=FILTER_WORDS),
    ]


# bsdprov's NAT file on a host whose inventory has no NAT (any more): removed, its anchor
# flushed (may fail: pf not loaded), after pf.conf without the hook is loaded (NAT_RELOAD).
NAT_GONE = OwnedGlob(PF_INCLUDED, ("pfctl", "-a", NAT_ANCHOR, "-F", "nat"))
NAT_RELOAD = Step(
    ("pfctl", "-f", PF_CONF),
    "load pf.conf without the NAT hook (fails when pf is not loaded: nothing to unhook)",
    True,
    (PF_CONF,),
)


def guest_keys(vm_dir: str, guest: Guest) -> tuple[tuple[str, str], ...]:
    """The NAME.conf keys of a guest, in vm-bhyve's sample order (config.sample)."""
    vm = guest.vm
    keys = [("loader", guest.loader or "bhyveload"), ("cpu", str(vm.cpus)), ("memory", vm.memory)]
    for i, nic in enumerate(vm.nics):
        keys += [(f"network{i}_type", "virtio-net"), (f"network{i}_switch", nic.switch)]
        if nic.mac:
            keys.append((f"network{i}_mac", nic.mac))
    own_dir = f"{vm_dir}/{guest.name}/"
    disk = vm.disk.path
    keys.append(("disk0_type", "virtio-blk"))
    # vm::get_disk_path: "file" disks are named inside the guest's directory, "custom" by path,
    # a zvol of the guest's dataset by its last component (/dev/zvol/DATASET/NAME/DISK).
    if disk.startswith(f"{ZVOL_DIR}/"):
        keys += [("disk0_dev", "sparse-zvol"), ("disk0_name", disk.rpartition("/")[2])]
    elif disk.startswith(own_dir) and "/" not in disk[len(own_dir) :]:
        keys += [("disk0_dev", "file"), ("disk0_name", disk[len(own_dir) :])]
    else:
        keys += [("disk0_dev", "custom"), ("disk0_name", disk)]
    if vm.cdrom:
        keys += [("disk1_type", "ahci-cd"), ("disk1_dev", "custom"), ("disk1_name", vm.cdrom)]
    return tuple(keys)


def _guest_file(vm_dir: str, guest: Guest) -> VarsEdit:
    keys = guest_keys(vm_dir, guest)
    assigned = {k for k, _ in keys}
    remove = ["uefi"]  # the older form of loader="uefi"; loader says it now
    for i in range(OWNED_SLOTS):
        for suffix in ("type", "switch", "mac", "device", "name"):
            key = f"network{i}_{suffix}"
            # A MAC the inventory leaves out is the one vm-bhyve generated and wrote: kept.
            if key not in assigned and not (i < len(guest.vm.nics) and suffix == "mac"):
                remove.append(key)
        disk = (f"disk{i}_{s}" for s in ("type", "dev", "name", "opts"))
        remove += [key for key in disk if key not in assigned]
    return VarsEdit(guest_conf(vm_dir, guest.name), keys, tuple(remove))


PF_RULES_ELSEWHERE = (
    f"rc.conf's pf_rules names {PF_CONF} (rc.d/pf loads pf_rules at boot; bsdprov hooks its "
    "NAT into /etc/pf.conf and loads that file, which would replace the rules pf_rules loads)"
)


def _checks(host: Host, vm_dir: str, guests: tuple[Guest, ...]) -> tuple[Step, ...]:
    found = [
        *(
            (
                # rc.d/pf loads pf_rules (default /etc/pf.conf) at boot: with it elsewhere,
                # loading /etc/pf.conf now would replace the admin's running ruleset, and the
                # NAT would be gone after a reboot (etc/rc.d/pf pf_start).
                Step(("sysrc", "-c", f"pf_rules={PF_CONF}"), PF_RULES_ELSEWHERE),
                Step(("pfctl", "-nf", PF_CONF), "pf parses pf.conf and the NAT anchor's file"),
            )
            if host.nat
            else ()
        ),
        Step(("test", "-x", VM), "vm-bhyve is installed (pkg install vm-bhyve)"),
        *(
            (
                Step(
                    ("sh", ZFS_DATASET, "mounted", dataset, vm_dir),
                    f"the datastore {dataset} is mounted at {vm_dir}, where the files went",
                ),
            )
            if (dataset := host.bhyve.dataset if host.bhyve else None)
            else ()
        ),
        Step(("sh", "-n", system_conf(vm_dir)), "vm-bhyve reads system.conf as sh"),
    ]
    found += [
        Step(("sh", "-n", guest_conf(vm_dir, g.name)), f"vm-bhyve reads {g.name}.conf as sh")
        for g in guests
    ]
    if any(g.loader == "uefi" for g in guests):
        found.append(
            Step(
                ("test", "-f", UEFI_FIRMWARE),
                "UEFI guests need bhyve's firmware (pkg install edk2-bhyve)",
            )
        )
    return tuple(found)


def _steps(host: Host, guests: tuple[Guest, ...]) -> tuple[Step, ...]:
    bhyve = host.bhyve
    assert bhyve is not None
    triggers = (
        f"{RC_CONF}#vm_*",
        system_conf(bhyve.directory),
        *(guest_conf(bhyve.directory, g.name) for g in guests),
    )
    gateways = forwarding(host)
    found = []
    if gateways:
        found.append(
            Step(
                ("service", "routing", "options"),
                "rc.d/routing's options set the forwarding sysctls from gateway_enable and "
                "ipv6_gateway_enable (0 when off, so a rollback restores them)",
                False,
                tuple(f"{RC_CONF}#{key}" for key, _, _ in gateways),
            )
        )
    if not host.nat:
        found.append(NAT_RELOAD)
    if host.nat:
        pf_paths = (PF_CONF, PF_INCLUDED)
        found += [
            Step(
                ("kldload", "-n", "pf"),
                "pf(4) must be loaded before pfctl can load rules (rc.d/pf's required_modules)",
                False,
                (*pf_paths, f"{RC_CONF}#pf_enable"),
            ),
            # The whole pf.conf only when it changes (the hook goes in or moves) or pf is
            # being enabled: loading it also activates whatever the admin edited there and
            # never loaded. With the hook already in place, a NAT change is the anchor's alone.
            Step(
                ("pfctl", "-f", PF_CONF),
                "load pf.conf with the NAT hook and anchor (states already made keep their "
                "translation)",
                False,
                (PF_CONF, f"{RC_CONF}#pf_enable"),
            ),
            Step(
                NAT_LOAD,
                "load the NAT rules into their anchor only (the rest of pf.conf stays as loaded)",
                False,
                (PF_INCLUDED,),
            ),
            Step(
                ("pfctl", "-e"),
                "enable pf, as rc.d/pf does with pf_enable; fails when it is already on",
                True,
                (*pf_paths, f"{RC_CONF}#pf_enable"),
            ),
        ]
    return (
        *found,
        Step(
            (
                "sh",
                BHYVE_APPLY,
                bhyve.directory,
                " ".join(bhyve.switches),
                " ".join(g.name for g in guests),
            ),
            "vm-bhyve: vm init (switches), then start the listed guests that are not running; "
            "with vm-bhyve disabled (a rollback), stop them and remove the switches",
            False,
            triggers,
        ),
    )


def _verify(host: Host, guests: tuple[Guest, ...]) -> tuple[Check, ...]:
    bhyve = host.bhyve
    assert bhyve is not None
    found = [
        Check(("sysctl", sysctl), f": {int(on)}$", f"{sysctl} is {int(on)}")
        for _, sysctl, on in forwarding(host)
    ]
    found += [
        Check((VM, "switch", "list"), f"^{name} +standard +vm-{name} ", f"switch {name} exists")
        for name in bhyve.switches
    ]
    for name, switch in bhyve.switches.items():
        found += [
            Check(("ifconfig", f"vm-{name}"), f"member: {port} ", f"{port} is a port of {name}")
            for port in switch.ports
        ]
        if switch.address is not None:
            ip = _regex(str(switch.address.ip))
            found.append(
                Check(("ifconfig", f"vm-{name}"), f"inet {ip} ", f"vm-{name} has {switch.address}")
            )
    if host.nat:
        found += [
            Check(("pfctl", "-s", "info"), "^Status: Enabled", "pf is enabled"),
            Check(("pfctl", "-sn"), f'^nat-anchor "{NAT_ANCHOR}"', "the NAT anchor is hooked"),
        ]
        found += [
            Check(
                ("pfctl", "-a", NAT_ANCHOR, "-sn"),
                f"^nat on {n.out} inet from {_regex(str(n.source))} to any -> \\({n.out}\\)",
                f"{n.source} is NATed on {n.out}",
            )
            for n in host.nat
        ]
    for guest in guests:
        if not guest.vm.enabled:
            continue
        found.append(
            Check((VM, "list"), f"^{_regex(guest.name)} .* Running ", f"VM {guest.name} runs")
        )
        for nic in guest.vm.nics:
            if nic.mac:
                found.append(
                    Check(
                        (VM, "info", guest.name),
                        f"fixed-mac-address: {nic.mac}$",
                        f"VM {guest.name}'s NIC has MAC {nic.mac}",
                    )
                )
            found.append(
                Check(
                    (VM, "info", guest.name),
                    f"bridge: vm-{nic.switch}$",
                    f"VM {guest.name}'s tap is in switch {nic.switch}",
                )
            )
    return tuple(found)


def _regex(text: str) -> str:
    return text.replace(".", "[.]")


def _makes(dataset: str | None, vm_dir: str, guests: tuple[Guest, ...]) -> tuple[Creation, ...]:
    """On a zfs: datastore, each guest's dataset (vm-bhyve's zfs::make_dataset), made before its
    NAME.conf is installed into it, and its zvol disk (zfs::make_zvol, sparse); each undone by
    the run's rollback only when the run made it (lib/zfs-dataset, txn.sh make)."""
    if dataset is None:
        return ()
    found: list[Creation] = []
    for guest in guests:
        own = f"{dataset}/{guest.name}"
        disk = guest.vm.disk
        # What the run puts in the dataset: its NAME.conf and a file disk there. Anything else
        # found at the rollback is someone else's, and keeps the dataset (lib/zfs-dataset).
        ours = [f"{guest.name}.conf"]
        folder, _, leaf = disk.path.rpartition("/")
        if folder == f"{vm_dir}/{guest.name}":
            ours.append(leaf)
        found.append(
            Creation(
                f"{vm_dir}/{guest.name}",
                ("sh", ZFS_DATASET, "make", dataset, vm_dir, own),
                f"VM {guest.name}'s dataset, before its files go into it",
                ("sh", ZFS_DATASET, "destroy", own, *ours),
            )
        )
        if disk.path.startswith(f"{ZVOL_DIR}/"):
            volume = disk.path[len(ZVOL_DIR) + 1 :]
            found.append(
                Creation(
                    disk.path,
                    ("sh", ZFS_DATASET, "make", dataset, vm_dir, volume, disk.size),
                    f"VM {guest.name}'s disk, a sparse zvol (volmode=dev)",
                    ("sh", ZFS_DATASET, "destroy", volume),
                )
            )
    return tuple(found)


def _creations(vm_dir: str, guests: tuple[Guest, ...]) -> tuple[Creation, ...]:
    found: list[Creation] = []
    made: set[str] = set()
    for guest in guests:
        disk = guest.vm.disk
        if disk.path.startswith(f"{ZVOL_DIR}/"):
            continue  # a zvol: _makes
        directory = disk.path.rpartition("/")[0] or "/"
        if directory not in made and directory != f"{vm_dir}/{guest.name}":
            made.add(directory)
            found.append(Creation(directory, ("mkdir", "-p", directory), "the disk's directory"))
        # vm create makes sparse images the same way (vm::create, lib/vm-core).
        found.append(
            Creation(
                disk.path,
                ("truncate", "-s", disk.size, disk.path),
                f"VM {guest.name}'s disk: bhyve refuses to start without it",
            )
        )
    return tuple(found)
