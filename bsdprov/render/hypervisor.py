"""An OpenBSD vmd hypervisor: ``/etc/vm.conf`` (vm.conf(5)), ``/etc/rc.conf.local`` (rc.conf(8)),
``/etc/sysctl.conf`` (sysctl.conf(5)), plus pf (``pf.py``) and dhcpd (``dhcpd.py``); the checks,
disk creations, activation steps and verify checks that go with them.

vm.conf has no ``;`` and no ``,`` inside braces (vmd's parse.y): one option per line.
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
)
from bsdprov.render.dhcpd import dhcpd_conf
from bsdprov.render.pf import (
    ANCHOR_DIR,
    PF_CONF,
    PF_INCLUDED,
    anchor_path,
    pf_files,
    routed_members,
)
from bsdprov.vmd import Guest

RC_LOCAL = "/etc/rc.conf.local"
SYSCTL_CONF = "/etc/sysctl.conf"
VM_CONF = "/etc/vm.conf"
DHCPD_CONF = "/etc/dhcpd.conf"
SYSCTL_APPLY = "/var/db/bsdprov/lib/sysctl-apply"
RC_APPLY = "/var/db/bsdprov/lib/rc-apply"
PF_ANCHOR = "/var/db/bsdprov/lib/pf-anchor"
# The disk images bsdprov made, one path a line: --purge-disks deletes only what is listed here.
DISK_RECORD = "/var/db/bsdprov/disks"
# vmctl create, then the image's path recorded: "$1" size, "$2" vmctl's target, "$3" the path.
# If recording fails the run fails and the image stays, unlisted: never deleted by bsdprov.
CREATE_DISK = (
    f'vmctl create -s "$1" "$2" && printf \'%s\\n\' "$3" >>"${{BSDPROV_ROOT:-}}{DISK_RECORD}"'
)
# Delete "$1" only if bsdprov made it (listed in the record), then drop it from the record;
# any other path is kept and the journal says why.
PURGE_DISK = (
    f'r="${{BSDPROV_ROOT:-}}{DISK_RECORD}"; '
    'if grep -qxF -- "$1" "$r" 2>/dev/null; then '
    'rm -f -- "$1" && { grep -vxF -- "$1" "$r" >"$r.tmp"; mv -f "$r.tmp" "$r"; }; '
    'else echo "kept $1: bsdprov did not create it (not in $r)"; fi'
)
# The step that hands vm.conf to vmd; the planner puts VM stops and restarts around it.
VMD_STEP = ("sh", RC_APPLY, "vmd")
FORWARDING = (("inet", "net.inet.ip.forwarding"), ("inet6", "net.inet6.ip6.forwarding"))


@dataclass(frozen=True, slots=True)
class HypervisorPart:
    """What a hypervisor adds to its OpenBSD rendering."""

    files: tuple[FileEdit, ...]
    checks: tuple[Step, ...]
    steps: tuple[Step, ...]
    verify: tuple[Check, ...]
    creates: tuple[Creation, ...]
    owned_globs: tuple[OwnedGlob, ...]


@dataclass(frozen=True, slots=True)
class SysctlPart:
    """Managed sysctl.conf lines, the step that applies them and their verify checks."""

    files: tuple[FileEdit, ...] = ()
    steps: tuple[Step, ...] = ()
    verify: tuple[Check, ...] = ()


def sysctl_part(sysctls: list[tuple[str, bool]]) -> SysctlPart:
    """``sysctl.conf`` lines ``NAME=0|1`` (a hypervisor's forwarding, a tunnel's receive
    switch), applied now since /etc/rc reads the file only at boot."""
    if not sysctls:
        return SysctlPart()
    lines = tuple(f"{name}={int(on)}" for name, on in sysctls)
    defaults = tuple(f"{name}=0" for name, _ in sysctls)
    step = Step(
        ("sh", SYSCTL_APPLY, *defaults),
        "sysctl.conf is read only at boot: set the file's values (or the defaults, "
        "so a rollback restores the old ones)",
        False,
        (SYSCTL_CONF,),
    )
    checks = tuple(
        Check(("sysctl", name), f"={int(on)}$", f"{name} is {int(on)}") for name, on in sysctls
    )
    return SysctlPart((LineEdit(SYSCTL_CONF, lines, "="),), (step,), checks)


def render_hypervisor(host: Host, guests: tuple[Guest, ...]) -> HypervisorPart:
    """Everything beyond the interfaces and sysctls: VMs, switches, NAT, DHCP and pf."""
    files: list[FileEdit] = []
    has_pf = bool(host.switches or host.nat or host.firewall is not None)
    if has_pf:
        files += pf_files(host, guests)
    if host.switches:
        files.append(FileSpec(VM_CONF, vm_conf(host, guests)))
    if host.dhcp_server:
        files.append(FileSpec(DHCPD_CONF, dhcpd_conf(host, guests)))
    flags: list[tuple[str, str]] = []
    if has_pf:
        # rc.conf has pf=YES; a pf=NO (here or in rc.conf) would boot without the rules that
        # activation enabled. rc.conf.local is read after rc.conf, so this line wins.
        flags.append(("pf", "YES"))
    if host.dhcp_server:
        flags.append(("dhcpd_flags", " ".join(host.dhcp_server)))
    if host.switches:
        flags.append(("vmd_flags", ""))  # enabled with vmd's default flags, as rcctl enable does
    if flags:
        files.append(VarsEdit(RC_LOCAL, tuple(flags)))
    pf_paths = tuple(f.path for f in files if f.path in (PF_CONF, PF_INCLUDED))
    return HypervisorPart(
        tuple(files),
        _checks(host, guests, has_pf),
        _steps(host, guests, pf_paths),
        _verify(host, guests, has_pf),
        _creations(guests),
        (OwnedGlob(f"{ANCHOR_DIR}/*.conf", ("sh", PF_ANCHOR, "vm/{stem}", "{path}")),)
        if has_pf
        else (),
    )


def forwarding_sysctls(host: Host) -> list[tuple[str, bool]]:
    if host.forwarding is None:
        return []
    found = [(name, getattr(host.forwarding, key)) for key, name in FORWARDING]
    return [(name, on) for name, on in found if on is not None]


def vm_conf(host: Host, guests: tuple[Guest, ...]) -> str:
    """Switches in inventory order, then one block per VM; tabs, blank lines between blocks."""
    blocks = [
        f'switch "{name}" {{\n\tinterface {bridge}\n}}\n' for name, bridge in host.switches.items()
    ]
    for guest in guests:
        vm = guest.vm
        lines = [
            f'vm "{guest.name}" {{',
            f"\tmemory {vm.memory}",
            f'\tdisk "{vm.disk.path}" format {vm.disk.image_format}',
        ]
        if vm.cdrom:
            lines.append(f'\tcdrom "{vm.cdrom}"')
        if not vm.enabled:
            lines.append("\tdisable")
        for nic in vm.nics:
            # No tapN: units follow start order; pf finds the VM by its interface group.
            lines += ["\tinterface {", f'\t\tswitch "{nic.switch}"']
            if nic.mac:
                lines.append(f"\t\tlocked lladdr {nic.mac}")
            lines += [f'\t\tgroup "{guest.group}"', "\t}"]
        lines.append("}")
        blocks.append("\n".join(lines) + "\n")
    return f"{MANAGED_HEADER}\n" + "\n".join(blocks)


def _checks(host: Host, guests: tuple[Guest, ...], has_pf: bool) -> tuple[Step, ...]:
    checks: list[Step] = []
    if has_pf:
        checks.append(Step(("pfctl", "-nf", PF_CONF), "pf parses the ruleset and its anchors"))
        checks += [
            Step(
                ("pfctl", "-a", f"vm/{g.name}", "-nf", anchor_path(g)),
                f"pf parses VM {g.name}'s anchor on its own",
            )
            for g in guests
        ]
    if host.switches:
        checks.append(Step(("vmd", "-n"), "vmd parses vm.conf (the disks must exist)"))
    if host.dhcp_server:
        checks.append(Step(("dhcpd", "-n"), "dhcpd parses dhcpd.conf"))
    return tuple(checks)


def _steps(host: Host, guests: tuple[Guest, ...], pf_paths: tuple[str, ...]) -> tuple[Step, ...]:
    steps: list[Step] = []
    if pf_paths:
        steps += [
            Step(("pfctl", "-f", PF_CONF), "load the new ruleset and its anchors", False, pf_paths),
            Step(
                ("pfctl", "-e"),
                "enable pf, as boot does with pf=YES; fails when it is already on",
                True,
                (*pf_paths, f"{RC_LOCAL}#pf"),
            ),
        ]
    if host.dhcp_server:
        steps.append(
            Step(
                ("sh", RC_APPLY, "restart", "dhcpd"),
                "dhcpd reads dhcpd.conf and its interfaces only when it starts "
                "(restarted when enabled, stopped when not)",
                False,
                (DHCPD_CONF, f"{RC_LOCAL}#dhcpd_flags"),
            )
        )
    if host.switches:
        steps.append(
            Step(
                VMD_STEP,
                "vmd: vmctl reload while it runs (running VMs keep their old settings), "
                "started when enabled and not running, stopped when not enabled",
                False,
                (VM_CONF, f"{RC_LOCAL}#vmd_flags"),
            )
        )
        steps += [
            Step(
                ("vmctl", "start", g.name),
                f"start VM {g.name}; fails when it already runs (verify proves it runs)",
                True,
                (VM_CONF,),
            )
            for g in guests
            if g.vm.enabled
        ]
    if pf_paths:
        steps += [
            Step(
                ("sh", PF_ANCHOR, f"vm/{g.name}", anchor_path(g)),
                f"load VM {g.name}'s policy into its anchor (flushed if the file is gone)",
                False,
                (anchor_path(g),),
            )
            for g in guests
        ]
    return tuple(steps)


def _regex(text: str) -> str:
    return text.replace(".", "[.]")


def _verify(host: Host, guests: tuple[Guest, ...], has_pf: bool) -> tuple[Check, ...]:
    running = [g for g in guests if g.vm.enabled]
    found = [
        Check(("vmctl", "status"), f"running {_regex(g.name)}$", f"VM {g.name} runs")
        for g in running
    ]
    for switch, bridge in host.switches.items():
        itf = host.interfaces.get(bridge)
        for member in itf.members if itf else ():
            found.append(
                Check(("ifconfig", bridge), f"{member} flags=", f"{member} is in switch {switch}")
            )
        if any(nic.switch == switch for g in running for nic in g.vm.nics):
            found.append(
                Check(("ifconfig", bridge), "tap[0-9]+ flags=", f"a VM's tap is in {switch}")
            )
    found += [
        Check(("ifconfig", g.group), "^tap[0-9]+:", f"VM {g.name}'s taps are in {g.group}")
        for g in running
    ]
    if has_pf:
        found.append(Check(("pfctl", "-sr"), 'anchor "vm/\\*" all', "the VM anchors are hooked"))
        found += [
            Check(("pfctl", "-sr"), f"nat-to \\({nat.out}\\)", f"{nat.source} is NATed")
            for nat in host.nat
        ]
        found += [
            Check(
                ("pfctl", "-a", f"vm/{g.name}", "-sr"),
                f"on {g.group} ",
                f"VM {g.name}'s anchor is loaded",
            )
            for g in guests
        ]
        # Routed traffic is decided on the vether (pf.py): those rules must be loaded too.
        found += [
            Check(
                ("pfctl", "-a", f"vm/{g.name}", "-sr"),
                f"on {member} ",
                f"VM {g.name}'s routed policy is on {member}",
            )
            for g in guests
            if g.addresses
            for member in routed_members(host, g)
        ]
    if host.dhcp_server:
        found.append(Check(("rcctl", "check", "dhcpd"), "dhcpd\\(ok\\)", "dhcpd runs"))
    if host.switches:
        found.append(Check(("rcctl", "check", "vmd"), "vmd\\(ok\\)", "vmd runs"))
    return tuple(found)


def _creations(guests: tuple[Guest, ...]) -> tuple[Creation, ...]:
    found: list[Creation] = []
    made: set[str] = set()
    for guest in guests:
        disk = guest.vm.disk
        directory = disk.path.rpartition("/")[0] or "/"
        if directory not in made:
            made.add(directory)
            found.append(
                Creation(directory, ("mkdir", "-p", directory), "vmctl create needs the directory")
            )
        # vmctl picks qcow2 for a *.qcow2 name and raw otherwise; a prefix says what we want.
        named = "qcow2" if disk.path.endswith(".qcow2") else "raw"
        target = disk.path if disk.image_format == named else f"{disk.image_format}:{disk.path}"
        found.append(
            Creation(
                disk.path,
                ("sh", "-c", CREATE_DISK, "vm-disk", disk.size, target, disk.path),
                f"VM {guest.name}'s disk: vmd -n and vmd refuse a missing one",
            )
        )
    return tuple(found)
