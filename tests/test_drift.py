"""Live drift (bsdprov/drift.py): the facts a host's files mean, how the probe reports the
running state, what differs, which steps repair it, and how plan shows it."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bsdprov.apply import DeployOptions, deploy_one, live_commands
from bsdprov.boot_hook import BOOT_HOOK
from bsdprov.drift import (
    Drift,
    LiveSpec,
    Output,
    compare,
    expected_live,
    live_section,
    outputs_by_command,
)
from bsdprov.errors import ProbeError
from bsdprov.facts import BEGIN, END, parse_facts, probe_script
from bsdprov.inventory import load_inventory, parse_inventory
from bsdprov.model import Host
from bsdprov.outcome import Outcome
from bsdprov.output import plan_json, plan_text
from bsdprov.plan import ObservedFile, plan_host, select_steps
from bsdprov.render import FileSpec, VarsEdit, file_content, render_host
from bsdprov.render.base import Rendered
from bsdprov.testing import FakeTransport, answer

INVENTORY = """
hosts:
  gw:
    os: {os}
    interfaces:
      {nic}:
        addresses: [192.0.2.10/24, "2001:db8::10/64"]
      {nic2}: {{up: true}}
      vlan10: {{parent: {nic2}, vlan: 10}}
      bridge0: {{members: [vlan10]}}
    routes:
      - {{to: default, via: 192.0.2.1}}
      - {{to: default, via: "2001:db8::1"}}
      - {{to: 10.0.0.0/8, via: 192.0.2.254}}
"""
NICS = {"openbsd": ("vio0", "vio1"), "freebsd": ("vtnet0", "vtnet1"), "netbsd": ("wm0", "wm1")}

# What each OS's tools print for the host above, applied (ifconfig(8), route(8) get,
# brconfig(8)), trimmed to the lines that matter plus some noise.
IFCONFIG = {
    "openbsd": (
        "vio0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
        "\tlladdr 52:54:00:12:34:56\n\tindex 1 priority 0 llprio 3\n"
        "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255\n"
        "\tinet6 fe80::1%vio0 prefixlen 64 scopeid 0x1\n"
        "\tinet6 2001:db8::10 prefixlen 64\n"
    ),
    "freebsd": (
        "vtnet0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500\n"
        "\tether 52:54:00:12:34:56\n"
        "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255\n"
        "\tinet6 fe80::1%vtnet0 prefixlen 64 scopeid 0x1\n"
        "\tinet6 2001:db8::10 prefixlen 64\n"
    ),
    "netbsd": (
        "wm0: flags=0x8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
        "\taddress: 52:54:00:12:34:56\n"
        "\tinet 192.0.2.10/24 broadcast 192.0.2.255 flags 0\n"
        "\tinet6 fe80::1%wm0/64 flags 0 scopeid 0x1\n"
        "\tinet6 2001:db8::10/64 flags 0\n"
    ),
}
VLAN = {
    "openbsd": "vlan10: flags=8843<UP> mtu 1500\n\tencap: vnetid 10 parent vio1 txprio packet\n",
    "freebsd": "vlan10: flags=8843<UP> mtu 1500\n"
    "\tvlan: 10 vlanproto: 802.1q vlanpcp: 0 parent interface: vtnet1\n",
    "netbsd": "vlan10: flags=0x8843<UP> mtu 1500\n\tvlan: 10 parent: wm1\n",
}
BRIDGE = {
    "openbsd": (
        "ifconfig",
        "bridge0",
        "bridge0: flags=41<UP,RUNNING>\n\tvlan10 flags=3<LEARNING>\n",
    ),
    "freebsd": ("ifconfig", "bridge0", "bridge0: flags=8843<UP>\n\tmember: vlan10 flags=143<L>\n"),
    "netbsd": (
        "brconfig",
        "bridge0",
        "bridge0: flags=41<UP>\n\tInterfaces:\n\t\tvlan10 flags=3<L>\n",
    ),
}


def route_get(destination: str, gateway: str, mask: str = "") -> str:
    masked = f"       mask: {mask}\n" if mask else ""
    return (
        f"   route to: {destination}\ndestination: {destination}\n{masked}"
        f"    gateway: {gateway}\n  interface: x0\n      flags: <UP,GATEWAY,DONE,STATIC>\n"
    )


def host(os: str) -> Host:
    nic, nic2 = NICS[os]
    text = INVENTORY.format(os=os, nic=nic, nic2=nic2)
    return parse_inventory(text, "inventory.yaml").hosts["gw"]


def applied(os: str) -> dict[tuple[str, ...], Output]:
    """The outputs of a host that runs exactly what its files say."""
    nic = NICS[os][0]
    argv, name, text = BRIDGE[os]

    def out(text: str, status: int = 0) -> Output:
        return Output(tuple(text.splitlines()), status)

    return {
        ("ifconfig", nic): out(IFCONFIG[os]),
        ("ifconfig", NICS[os][1]): out(f"{NICS[os][1]}: flags=8843<UP> mtu 1500\n"),
        ("ifconfig", "vlan10"): out(VLAN[os]),
        ("ifconfig", "bridge0"): out("bridge0: flags=41<UP,RUNNING>\n"),
        (argv, name): out(text),
        ("route", "-n", "get", "default"): out(route_get("default", "192.0.2.1", "default")),
        ("route", "-n", "get", "-inet6", "default"): out(route_get("default", "2001:db8::1")),
        ("route", "-n", "get", "-inet", "10.0.0.0/8"): out(
            route_get("10.0.0.0", "192.0.2.254", "255.0.0.0")
        ),
    }


def drift_of(os: str, outputs: dict[tuple[str, ...], Output]) -> list[str]:
    h = host(os)
    return [d.what for d in compare(expected_live(h, render_host(h)), outputs)]


@pytest.mark.parametrize("os", sorted(NICS))
def test_a_host_running_its_files_has_no_drift(os: str) -> None:
    assert drift_of(os, applied(os)) == []


@pytest.mark.parametrize("os", sorted(NICS))
def test_each_kind_of_drift_is_named(os: str) -> None:
    nic, nic2 = NICS[os]
    outputs = applied(os)
    argv, name, _ = BRIDGE[os]
    gone = route_get("default", "192.0.2.1", "default")
    outputs[("route", "-n", "get", "-inet6", "default")] = Output(
        ("route: writing to routing socket: No such process",), 1
    )
    # A missing static route resolves to the default route instead.
    outputs[("route", "-n", "get", "-inet", "10.0.0.0/8")] = Output(tuple(gone.splitlines()), 0)
    alias = "\tinet 198.51.100.7 netmask 0xffffffff" if os != "netbsd" else "\tinet 198.51.100.7/32"
    outputs[("ifconfig", nic)] = Output((*IFCONFIG[os].splitlines(), alias), 0)
    outputs[("ifconfig", "vlan10")] = Output(("vlan10: flags=0<>", "\tparent: none"), 0)
    outputs[(argv, name)] = Output(("bridge0: flags=41<UP>",), 0)
    assert drift_of(os, outputs) == [
        "vlan vlan10 on " + nic2 + " missing",
        "vlan10 in bridge bridge0 missing",
        "default route via 2001:db8::1 missing",
        "route to 10.0.0.0/8 via 192.0.2.254 missing",
        f"address 198.51.100.7 on {nic} not in the files",
    ]


def test_a_missing_interface_is_one_drift_not_one_per_address() -> None:
    outputs = applied("openbsd")
    outputs[("ifconfig", "vio0")] = Output(("ifconfig: vio0: no such interface",), 1)
    assert drift_of("openbsd", outputs) == ["interface vio0 missing"]


def test_a_dhcp_interface_keeps_its_leased_address_and_link_local_is_ignored() -> None:
    text = "hosts:\n  h:\n    os: openbsd\n    interfaces:\n      vio0: {dhcp: true}\n"
    h = parse_inventory(text, "i.yaml").hosts["h"]
    shown = (
        "vio0: flags=8843<UP> mtu 1500",
        "\tinet 10.9.9.9 netmask 0xffffff00",
        "\tinet6 fe80::1%vio0 prefixlen 64 scopeid 0x1",
        "\tinet6 2001:db8::99 prefixlen 64",
    )
    found = compare(expected_live(h, render_host(h)), {("ifconfig", "vio0"): Output(shown, 0)})
    # IPv4 comes from DHCP; a global IPv6 address the inventory does not give is drift.
    assert [d.what for d in found] == ["address 2001:db8::99 on vio0 not in the files"]


def test_a_command_the_probe_did_not_report_is_no_drift() -> None:
    assert drift_of("freebsd", {}) == []


@pytest.mark.parametrize(
    ("os", "expected"),
    [
        (
            "openbsd",
            [
                "route -qn delete default",
                "route -qn delete -inet6 default",
                "sh /etc/netstart vio0",
            ],
        ),
        ("freebsd", ["service routing restart"]),
        (
            "netbsd",
            [
                "route -q delete default",
                "route -q delete -inet6 default",
                "sh /var/db/bsdprov/lib/netbsd-ifup defaultroute",
            ],
        ),
    ],
)
def test_a_missing_default_route_reruns_only_the_default_route_steps(
    os: str, expected: list[str]
) -> None:
    h = host(os)
    rendered = render_host(h)
    (drift,) = [
        d
        for d in compare(
            expected_live(h, rendered),
            {
                **applied(os),
                ("route", "-n", "get", "-inet6", "default"): Output(("not in table",), 1),
            },
        )
    ]
    plan = plan_host(rendered, current_files(rendered), drift=[drift])
    assert plan.changes == () and plan.has_changes
    assert [" ".join(s.argv) for s in plan.steps] == expected
    assert plan.verify == rendered.verify, "a repair is verified as a deploy is"


def test_a_drifted_key_selects_steps_as_a_change_of_that_key_would() -> None:
    h = host("freebsd")
    steps = render_host(h).steps
    by_key = select_steps(steps, [], ["/etc/rc.conf#ifconfig_vtnet0"])
    # Not the -accept_rtadv clean-up: that follows ifconfig_vtnet0_ipv6 only.
    assert [" ".join(s.argv) for s in by_key] == [
        "service netif restart vtnet0",
        "service routing restart",
    ]
    assert select_steps(steps, [], []) == ()


def current_files(rendered: Rendered) -> dict[str, ObservedFile]:
    found: dict[str, ObservedFile] = {}
    for spec in rendered.files:
        content = file_content(spec, None)
        found[spec.path] = ObservedFile(spec.path, content, spec.mode, spec.owner, spec.group)
    return found


# --- the probe's part --------------------------------------------------------------------------


def test_the_probe_reads_each_command_once_and_parses_its_blocks() -> None:
    h = host("openbsd")
    commands = live_commands(h, [render_host(h)])
    assert len(commands) == len(set(commands))
    section = live_section(commands)
    assert "drift_read 0 ifconfig vio0\n" in section
    assert "route -n get -inet6 default" in section
    output = (
        f"{BEGIN}\nuname OpenBSD 7.6 amd64\n"
        "drift-begin 0\nvio0: flags=8843<UP> mtu 1500\n\tinet 192.0.2.10 netmask 0xffffff00\n\n"
        "drift-end 0 0\ndrift-begin 1\nifconfig: vio1: no such interface\n\ndrift-end 1 1\n"
        f"{END}\n"
    )
    facts = parse_facts(output.encode(), "gw")
    outputs = outputs_by_command(commands, facts.drift)
    assert outputs[commands[0]] == Output(
        ("vio0: flags=8843<UP> mtu 1500", "\tinet 192.0.2.10 netmask 0xffffff00"), 0
    )
    assert outputs[commands[1]].status == 1


def test_a_cut_short_live_block_is_a_probe_error() -> None:
    output = f"{BEGIN}\nuname OpenBSD 7.6 amd64\ndrift-begin 0\nvio0: flags=0\n"
    with pytest.raises(ProbeError, match="live state output was cut short"):
        parse_facts(output.encode(), "gw")


def test_the_probe_script_carries_the_section() -> None:
    script = probe_script(["/etc/mygate"], drift=live_section([("ifconfig", "vio0")]))
    assert "drift_read 0 ifconfig vio0\n" in script
    assert script.index("drift_read 0") < script.index("BSDPROV-PROBE-END")


# --- plan and deploy ---------------------------------------------------------------------------


def test_plan_shows_drift_in_its_own_section_and_in_json() -> None:
    h = host("openbsd")
    rendered = render_host(h)
    drift = Drift("default route via 2001:db8::1 missing", ("/etc/mygate",))
    plan = plan_host(rendered, current_files(rendered), drift=[drift])
    outcome = Outcome("gw", "changes", plan=plan)
    text = plan_text([outcome])
    assert "== gw (openbsd): 1 live difference to repair\n" in text
    assert (
        "running system differs from the files:\n  default route via 2001:db8::1 missing\n" in text
    )
    assert "no changes" not in text
    entry = json.loads(plan_json([outcome]))["hosts"][0]
    assert entry["drift"] == [
        {"what": "default route via 2001:db8::1 missing", "repaired_by": ["/etc/mygate"]}
    ]
    assert entry["files"] == []


def test_a_long_drift_list_is_cut_in_text_and_whole_in_json() -> None:
    h = host("openbsd")
    rendered = render_host(h)
    drift = [Drift(f"address 10.0.{i}.1 on vio0 not in the files", ()) for i in range(25)]
    plan = plan_host(rendered, current_files(rendered), drift=drift)
    outcome = Outcome("gw", "changes", plan=plan)
    text = plan_text([outcome])
    assert "  address 10.0.19.1 on vio0 not in the files\n" in text
    assert "10.0.20.1" not in text
    assert "  ... and 5 more (plan --json lists every one)\n" in text
    assert len(json.loads(plan_json([outcome]))["hosts"][0]["drift"]) == 25


def probe_reply(rendered: Rendered, outputs: dict[tuple[str, ...], Output], script: str) -> str:
    """What the probe prints for a host whose files are the rendering's and whose commands
    print ``outputs``, following the numbering of ``script``'s drift section."""
    lines = [BEGIN, "uname OpenBSD 7.6 amd64"]
    for line in script.splitlines():
        if line.startswith("drift_read "):
            number, *argv = line.split()[1:]
            found = outputs.get(tuple(argv), Output(("?",), 1))
            lines += [
                f"drift-begin {number}",
                *found.lines,
                "",
                f"drift-end {number} {found.status}",
            ]
    body = "\n".join(lines) + "\n"
    for spec in rendered.files:
        assert isinstance(spec, FileSpec | VarsEdit)
        content = file_content(spec, None)
        perms = "-" + "".join(
            char if spec.mode & (1 << (8 - i)) else "-" for i, char in enumerate("rwxrwxrwx")
        )
        body += f"file {len(content.encode())} {perms} root wheel {spec.path}\n{content}\n"
    hook = BOOT_HOOK + "\n"  # as the first deploy left it
    body += f"file {len(hook)} -rw-r--r-- root wheel /etc/rc.local\n{hook}\n"
    return body + END + "\n"
    return body


def test_a_deploy_with_nothing_to_change_or_repair_is_one_connection_and_one_exec() -> None:
    h = host("openbsd")
    rendered = render_host(h)
    opened: list[FakeTransport] = []

    def connect(_: Host) -> FakeTransport:
        fake = FakeTransport(
            respond=lambda script: answer(probe_reply(rendered, applied("openbsd"), script), "", 0)
        )
        opened.append(fake)
        return fake

    outcome = deploy_one(connect, h, "R1", DeployOptions())
    assert outcome.status == "unchanged", outcome
    assert len(opened) == 1 and len(opened[0].scripts) == 1 and opened[0].uploads == []


@pytest.mark.parametrize("status", [126, 127])
def test_a_read_command_the_host_cannot_run_is_a_note_not_drift_to_repair(status: int) -> None:
    # A missing tool (brconfig, route) read nothing: "repairing" it would re-run the steps on
    # every deploy and never clear. The plan says what stays unchecked instead.
    h = host("openbsd")
    rendered = render_host(h)
    outputs = applied("openbsd")
    outputs[("route", "-n", "get", "-inet6", "default")] = Output(("sh: route: not found",), status)
    outputs[("ifconfig", "vlan10")] = Output(("sh: ifconfig: not found",), status)

    def connect(_: Host) -> FakeTransport:
        return FakeTransport(
            respond=lambda script: answer(probe_reply(rendered, outputs, script), "", 0)
        )

    outcome = deploy_one(connect, h, "R1", DeployOptions())
    assert outcome.status == "unchanged", outcome
    assert outcome.plan is not None and outcome.plan.drift == ()
    reason = "not found" if status == 127 else "not executable"
    assert (
        f"live state not checked: 'route -n get -inet6 default' could not run "
        f"(exit {status}: {reason})" in outcome.plan.notes
    )
    assert any("'ifconfig vlan10' could not run" in n for n in outcome.plan.notes)


def test_a_deploy_with_drift_only_uploads_a_run_without_files() -> None:
    h = host("openbsd")
    rendered = render_host(h)
    outputs = applied("openbsd")
    outputs[("route", "-n", "get", "-inet6", "default")] = Output(("not in table",), 1)
    answers = iter(["probe", "state=awaiting-confirm\nreason=\njournal:\n"])
    first = FakeTransport(
        respond=lambda script: answer(
            probe_reply(rendered, outputs, script)
            if next(answers) == "probe"
            else "state=awaiting-confirm\nreason=\njournal:\n",
            "",
            0,
        )
    )
    second = FakeTransport([answer("state=applied\nreason=confirmed\n", "", 0)])
    connections = iter([first, second])
    outcome = deploy_one(lambda _: next(connections), h, "R1", DeployOptions())
    assert outcome.status == "changed"
    (upload,) = first.uploads
    assert upload.files["manifest"] == b""
    assert b"sh /etc/netstart vio0" in upload.files["steps"]
    assert b"sh /etc/netstart vio1" not in upload.files["steps"]


# --- VMs ---------------------------------------------------------------------------------------

EXAMPLES = Path(__file__).parent.parent / "inventories"


@pytest.mark.parametrize(("file", "hypervisor"), [("example.yaml", "hv1"), ("bhyve.yaml", None)])
def test_a_vm_that_should_run_and_does_not_is_drift_repaired_by_what_starts_it(
    file: str, hypervisor: str | None
) -> None:
    inventory = load_inventory(EXAMPLES / file)
    name = hypervisor or next(n for n, h in inventory.hosts.items() if h.bhyve is not None)
    h = inventory.hosts[name]
    rendered = render_host(h, guests=inventory.guests(name))
    spec = expected_live(h, rendered)
    vms = [e for e in spec.expected if e.what.startswith("VM ")]
    assert vms, "every enabled guest is a live fact"
    first = vms[0]
    running = {
        e.argv: Output(tuple(e.what.split()[1] for e in vms), 0) for e in vms
    }  # a status output that names no VM as running
    found = compare(LiveSpec(tuple(vms)), running)
    assert [d.what for d in found] == [f"{e.what} missing" for e in vms]
    plan = plan_host(rendered, current_files(rendered), drift=found[:1])
    commands = [" ".join(s.argv) for s in plan.steps]
    guest = first.what.split()[1]
    if hypervisor:
        assert first.triggers == ("/etc/vm.conf",)
        assert f"vmctl start {guest}" in commands
        assert not any(c.startswith("vmctl stop") for c in commands), "a repair stops no VM"
    else:
        assert any("bhyve-apply" in c for c in commands), commands


# --- hostile replies -----------------------------------------------------------------------------

DRIFT_WORDS = st.sampled_from(
    [
        "drift-begin",
        "drift-end",
        "0",
        "1",
        "2",
        "-1",
        "x",
        "inet",
        "inet6",
        "192.0.2.10",
        "fe80::1%vio0",
        "2001:db8::10/64",
        "gateway:",
        "destination:",
        "\t",
        "",
        "BSDPROV-PROBE-END",
    ]
)
DRIFT_LINES = st.lists(st.lists(DRIFT_WORDS, max_size=5).map(" ".join), max_size=12).map("\n".join)


@functools.cache
def openbsd_spec() -> tuple[tuple[tuple[str, ...], ...], LiveSpec]:
    h = host("openbsd")
    rendered = render_host(h)
    return live_commands(h, [rendered]), expected_live(h, rendered)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(DRIFT_LINES)
def test_a_hostile_live_section_is_a_probe_error_or_plain_drift(text: str) -> None:
    commands, spec = openbsd_spec()
    output = f"{BEGIN}\nuname OpenBSD 7.6 amd64\n{text}\n{END}\n".encode()
    try:
        facts = parse_facts(output, "gw")
    except ProbeError:
        return
    found = compare(spec, outputs_by_command(commands, facts.drift))
    assert all(isinstance(d, Drift) and d.what for d in found)
