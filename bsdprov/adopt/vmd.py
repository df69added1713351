"""An OpenBSD vmd hypervisor's files read back: ``/etc/vm.conf`` (vm.conf(5)),
``/etc/dhcpd.conf`` (dhcpd.conf(5)), ``/etc/sysctl.conf`` forwarding (sysctl.conf(5)),
``/etc/rc.conf.local`` (rc.conf(8)), pf's include or owned ``/etc/pf.conf`` (pf.conf(5)) and the
per-VM anchors ``/etc/pf.vm/NAME.conf``; the inverse of ``render/hypervisor.py``, ``pf.py`` and
``dhcpd.py``.

vm.conf and the pf files are owned whole by a deploy, so a statement this parser does not model
leaves the whole vmd part unmanaged (no ``switches``, ``nat``, ``dhcp_server`` or ``firewall``
key): nothing the admin wrote there is rewritten. A guest's ``vm:`` comes from its ``vm`` block,
its anchor (``firewall``), dhcpd's fixed address for its MAC, and its image's size.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from bsdprov.adopt.common import KEPT, Entry, Note, content_lines, is_ip, is_network, words_of
from bsdprov.plan import shell_values
from bsdprov.render.base import MANAGED_HEADER
from bsdprov.render.hypervisor import DHCPD_CONF, RC_LOCAL, SYSCTL_CONF, VM_CONF
from bsdprov.render.pf import ANCHOR_DIR, PF_CONF, PF_INCLUDED
from bsdprov.vmd import interface_group

VMD_PATHS = (VM_CONF, DHCPD_CONF, SYSCTL_CONF, RC_LOCAL, PF_CONF, PF_INCLUDED)
FORWARDING = {"net.inet.ip.forwarding": "inet", "net.inet6.ip6.forwarding": "inet6"}
INCLUDE_LINE = f'include "{PF_INCLUDED}"'


class Unmodelled(Exception):
    def __init__(self, path: str, line: int | None, text: str) -> None:
        super().__init__(path)
        self.note = Note(path, line, text, KEPT)


@dataclass(slots=True)
class HypervisorParts:
    keys: Entry = field(default_factory=dict)
    guests: dict[str, Entry] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)


def parse_hypervisor(
    name: str, files: dict[str, str], disk_sizes: dict[str, str], interfaces: Entry | None = None
) -> HypervisorParts:
    """The vmd part of hypervisor ``name``; ``interfaces`` (its parsed entries) tell which
    interface each dhcpd.conf subnet is served on."""
    parts = HypervisorParts()
    forwarding = _forwarding(files.get(SYSCTL_CONF, ""))
    if forwarding:
        parts.keys["forwarding"] = forwarding
    flags = shell_values(files.get(RC_LOCAL, ""))
    served = flags.get("dhcpd_flags", "").split()
    pf_part = PF_INCLUDED in files or files.get(PF_CONF, "").startswith(MANAGED_HEADER)
    if VM_CONF not in files and not pf_part and not (served and DHCPD_CONF in files):
        return parts
    try:
        switches: dict[str, str] = {}
        vms: dict[str, Entry] = {}
        if VM_CONF in files:
            switches, vms = _vm_conf(files[VM_CONF], name, disk_sizes, parts.notes)
            if vms and not switches:
                raise Unmodelled(VM_CONF, None, "VMs without a switch")
            if "vmd_flags" not in flags:
                parts.notes.append(
                    Note(RC_LOCAL, None, "", 'does not enable vmd: a deploy would (vmd_flags="")')
                )
        keys: Entry = {"switches": switches} if switches else {}
        if served and DHCPD_CONF in files:
            keys["dhcp_server"], leases = _dhcpd(files[DHCPD_CONF], served, interfaces or {})
            for vm in vms.values():
                for nic in vm["nics"]:
                    if nic.get("mac") in leases:
                        nic["address"] = leases[nic["mac"]]
        if pf_part or switches:
            keys.update(_pf(files, vms))
        if flags.get("pf") == "NO" and (pf_part or switches):
            parts.notes.append(
                Note(
                    RC_LOCAL,
                    None,
                    "pf=NO",
                    "keeps pf off at boot, yet the imported rules need it: a deploy enables pf",
                )
            )
    except Unmodelled as exc:
        parts.notes.append(exc.note)
        parts.notes.append(
            Note(
                exc.note.path,
                None,
                "",
                "leaves the vmd part (switches, VMs, NAT, DHCP, pf) unmanaged",
            )
        )
        return parts
    parts.keys.update(keys)
    parts.guests = vms
    return parts


def _forwarding(text: str) -> Entry:
    found: Entry = {}
    for _, line in content_lines(text):
        key, _, value = line.partition("=")
        if key.strip() in FORWARDING and value.strip() in ("0", "1"):
            found[FORWARDING[key.strip()]] = value.strip() == "1"
    return found


def _vm_conf(
    text: str, hypervisor: str, disk_sizes: dict[str, str], notes: list[Note]
) -> tuple[dict[str, str], dict[str, Entry]]:
    switches: dict[str, str] = {}
    vms: dict[str, Entry] = {}
    lines = [(n, t) for n, t in content_lines(text) if not t.startswith("#")]
    i = 0

    def need(condition: bool, number: int, line: str) -> None:
        if not condition:
            raise Unmodelled(VM_CONF, number, line)

    while i < len(lines):
        number, line = lines[i]
        words = words_of(line) or []
        if len(words) == 3 and words[0] == "switch" and words[2] == "{":
            n2, inner = lines[i + 1] if i + 1 < len(lines) else (number, "")
            iw = inner.split()
            need(len(iw) == 2 and iw[0] == "interface", n2, inner)
            need(i + 2 < len(lines) and lines[i + 2][1] == "}", number, line)
            switches[words[1]] = iw[1]
            i += 3
            continue
        need(len(words) == 3 and words[0] == "vm" and words[2] == "{", number, line)
        vm_name = words[1]
        vm: Entry = {"hypervisor": hypervisor, "nics": []}
        i += 1
        while i < len(lines) and lines[i][1] != "}":
            number, line = lines[i]
            w = words_of(line) or []
            if w[:1] == ["memory"] and len(w) == 2:
                vm["memory"] = w[1]
            elif w[:1] == ["disk"] and len(w) == 4 and w[2] == "format":
                implied = "qcow2" if w[1].endswith(".qcow2") else "raw"
                vm["disk"] = {"path": w[1], "size": disk_sizes.get(w[1], "")}
                if w[3] != implied:
                    vm["disk"]["format"] = w[3]
            elif w[:1] == ["cdrom"] and len(w) == 2:
                vm["cdrom"] = w[1]
            elif w == ["disable"]:
                vm["enabled"] = False
            elif w == ["interface", "{"]:
                nic: Entry = {}
                i += 1
                while i < len(lines) and lines[i][1] != "}":
                    number, line = lines[i]
                    n = words_of(line) or []
                    if n[:1] == ["switch"] and len(n) == 2:
                        nic["switch"] = n[1]
                    elif n[:2] == ["locked", "lladdr"] and len(n) == 3:
                        nic["mac"] = n[2]
                    elif n[:1] == ["group"] and len(n) == 2 and n[1] == interface_group(vm_name):
                        pass  # bsdprov's group for the VM's taps, derived from its name
                    else:
                        need(False, number, line)
                    i += 1
                vm["nics"].append(nic)
            else:
                need(False, number, line)
            i += 1
        need("disk" in vm, number, f"vm {vm_name!r} without a disk")
        if not vm["disk"]["size"]:
            notes.append(
                Note(
                    VM_CONF,
                    None,
                    vm["disk"]["path"],
                    "size unknown: written as 1G (a deploy never resizes an existing disk)",
                )
            )
            vm["disk"]["size"] = "1G"
        vms[vm_name] = vm
        i += 1
    return switches, vms


def _dhcpd(text: str, served: list[str], interfaces: Entry) -> tuple[Entry, dict[str, str]]:
    """dhcpd.conf's subnets, each on the interface of dhcpd_flags whose first IPv4 address is
    in it (and is its ``option routers``, as bsdprov writes), and the fixed addresses by MAC."""
    own: dict[str, ipaddress.IPv4Interface] = {}
    for ifname in served:
        first = next(
            (a for a in interfaces.get(ifname, {}).get("addresses", []) if ":" not in a), None
        )
        if first is None:
            raise Unmodelled(RC_LOCAL, None, f"dhcpd_flags names {ifname}, which has no address")
        own[ifname] = ipaddress.IPv4Interface(first)
    servers: Entry = {}
    leases: dict[str, str] = {}
    lines = [(n, t.rstrip(";")) for n, t in content_lines(text) if not t.startswith("#")]
    i = 0
    while i < len(lines):
        number, line = lines[i]
        w = line.split()
        if len(w) != 5 or w[0] != "subnet" or w[2] != "netmask" or w[4] != "{":
            raise Unmodelled(DHCPD_CONF, number, line)
        try:
            subnet = ipaddress.IPv4Network(f"{w[1]}/{w[3]}")
        except ValueError:
            raise Unmodelled(DHCPD_CONF, number, line) from None
        found = next((n for n, a in own.items() if a.network == subnet), None)
        if found is None or found in servers:
            raise Unmodelled(DHCPD_CONF, number, line)
        ifname = found
        server: Entry = {}
        i += 1
        while i < len(lines) and lines[i][1] != "}":
            number, line = lines[i]
            w = line.replace(",", " ").split()
            if w[:2] == ["option", "routers"] and w[2:] == [str(own[ifname].ip)]:
                pass  # the hypervisor's own address on the interface, derived
            elif w[:2] == ["option", "domain-name-servers"]:
                server["dns"] = w[2:]
            elif w[:2] == ["option", "domain-name"] and len(w) == 3:
                server["domain_name"] = w[2].strip('"')
            elif w[:1] == ["range"] and len(w) == 3:
                server["range"] = [w[1], w[2]]
            elif w[:1] == ["host"] and w[-1:] == ["{"]:
                mac = None
                i += 1
                while i < len(lines) and lines[i][1] != "}":
                    hw = lines[i][1].split()
                    if hw[:2] == ["hardware", "ethernet"] and len(hw) == 3:
                        mac = hw[2]
                    elif hw[:1] == ["fixed-address"] and len(hw) == 2 and mac:
                        leases[mac] = hw[1]
                    else:
                        raise Unmodelled(DHCPD_CONF, lines[i][0], lines[i][1])
                    i += 1
            else:
                raise Unmodelled(DHCPD_CONF, number, line)
            i += 1
        servers[ifname] = server
        i += 1
    if set(servers) != set(served):
        raise Unmodelled(RC_LOCAL, None, f"dhcpd_flags={' '.join(served)}")
    # In dhcpd_flags order, as bsdprov writes both.
    return {n: servers[n] for n in served}, leases


NAT_RE = re.compile(r"pass out on (\S+) inet from (\S+) to any nat-to \((\S+)\)")
DERIVED_RE = re.compile(
    r"(pass on \S+( inet6?)?( (from|to) \S+| proto udp from port 6[78] to port 6[78])?"
    r'|anchor "vm/\*"|load anchor "vm/\S+" from "\S+")'
)


def _pf(files: dict[str, str], vms: dict[str, Entry]) -> Entry:
    """NAT and the hypervisor's own allow rules from bsdprov's part of pf, and each VM's rules
    from its anchor. The switch rules and anchor hooks are derived from other keys."""
    keys: Entry = {}
    pf_conf = files.get(PF_CONF, "")
    # An owned pf.conf is bsdprov's whole file, header first; else bsdprov's part is included.
    owned = pf_conf.startswith(MANAGED_HEADER) and INCLUDE_LINE not in pf_conf
    path = PF_CONF if owned else PF_INCLUDED
    if not owned and INCLUDE_LINE not in [t for _, t in content_lines(pf_conf)]:
        # A deploy would add the include line: that is a change, not an import.
        raise Unmodelled(PF_CONF, None, f"(no line {INCLUDE_LINE})")
    if path not in files:
        raise Unmodelled(PF_CONF, None, "no bsdprov part (pf.bsdprov.conf or an owned pf.conf)")
    nat: list[Entry] = []
    allow: list[Entry] = []
    host_policy = {
        "set skip on lo",
        "block return log",
        "pass out",
        "pass in inet proto icmp icmp-type echoreq",
        "pass in inet6 proto icmp6 icmp6-type { echoreq neighbrsol }",
        "pass in inet6 proto icmp6 icmp6-type { neighbradv routeradv } no state",
    }
    ssh_rule = False
    for number, line in content_lines(files[path]):
        # The owned pf.conf's fixed policy, and its SSH rule (the line after its comment).
        after_ssh_comment, ssh_rule = ssh_rule, line.startswith("# bsdprov deploys over SSH")
        if line.startswith("#") or (owned and (line in host_policy or after_ssh_comment)):
            continue
        match = NAT_RE.fullmatch(line)
        if match and match.group(1) == match.group(3):
            nat.append({"from": match.group(2), "out": match.group(1)})
        elif line.startswith("pass in "):
            allow.append(_rule(line.removeprefix("pass in"), path, number))
        elif not DERIVED_RE.fullmatch(line):
            raise Unmodelled(path, number, line)
    if nat:
        keys["nat"] = nat
    if owned or allow:
        keys["firewall"] = {"pf_conf": "owned"} if owned else {}
        if allow:
            keys["firewall"]["allow"] = allow
    for vm_name, vm in vms.items():
        anchor = f"{ANCHOR_DIR}/{vm_name}.conf"
        if anchor in files:
            rules = _anchor(files[anchor], interface_group(vm_name), anchor)
            if rules is not None:
                vm["firewall"] = rules
    return keys


def _anchor(text: str, group: str, path: str) -> list[Entry] | None:
    """The rules towards the VM; None when the anchor lets everything through."""
    towards = f"pass out quick on {group}"
    fixed = (
        f"{towards} inet proto icmp icmp-type echoreq",
        f"{towards} inet6 proto icmp6 icmp6-type {{ echoreq neighbrsol }}",
        f"{towards} inet6 proto icmp6 icmp6-type {{ neighbradv routeradv }} no state",
        f"{towards} inet proto udp from port 67 to port 68",
    )
    rules: list[Entry] = []
    closed = False
    for number, line in content_lines(text):
        if (
            line.startswith("#")
            or line.startswith(f"pass in quick on {group}")
            or line == f"block in quick on {group}"
            or _elsewhere(line, group)
        ):
            # Anti-spoofing, and the VM's policy on a routed switch's member: derived from
            # the guest's addresses and rules (the import checks the whole file against what
            # bsdprov would write).
            continue
        if line == f"block out quick on {group}":
            closed = True
        elif line == towards or line in fixed:
            continue
        elif line.startswith(towards + " "):
            rules.append(_rule(line.removeprefix(towards), path, number))
        else:
            raise Unmodelled(path, number, line)
    return rules if closed else None


def _elsewhere(line: str, group: str) -> bool:
    """A rule of the anchor on another interface than the VM's group (a routed member)."""
    words = line.split()
    return (
        len(words) > 4
        and words[0] in ("pass", "block")
        and words[1:4] in (["in", "quick", "on"], ["out", "quick", "on"])
        and words[4] != group
    )


def _rule(text: str, path: str, number: int) -> Entry:
    """`` [inet|inet6] [proto P] [from X|{ X Y }] [to port N|{ N M }]`` (pf.conf(5)) as a
    firewall rule; the family is implied by the protocol and the sources."""
    words = text.split()
    rule: Entry = {}

    def items() -> list[str]:
        if words[:1] == ["{"]:
            end = words.index("}")
            found = words[1:end]
            del words[: end + 1]
            return found
        return [words.pop(0)]

    if words[:1] in (["inet"], ["inet6"]):
        words.pop(0)
    if words[:1] == ["proto"] and len(words) > 1:
        words.pop(0)
        rule["proto"] = words.pop(0)
    if words[:1] == ["from"]:
        words.pop(0)
        sources = items()
        if not all(is_ip(s) or is_network(s) for s in sources):
            raise Unmodelled(path, number, text)
        rule["from"] = sources
    if words[:2] == ["to", "port"]:
        del words[:2]
        ports = items()
        if not all(p.isdigit() for p in ports):
            raise Unmodelled(path, number, text)
        rule["port"] = [int(p) for p in ports]
    if words or rule.get("proto") not in (None, "tcp", "udp", "icmp"):
        raise Unmodelled(path, number, text)
    if "from" in rule:
        rule["from"] = [str(ipaddress.ip_network(s)) if "/" in s else s for s in rule["from"]]
    return rule
