"""The lab's fake BSD tools (``bsdprov/lab/fakes``), run under dash, busybox ash and mksh.

Each test gets a simulated host root (``common/`` then ``<os>/``, initialised by
``init-state.sh``) and runs shell command lines in it as an SSH session would, with
``LAB_ROOT`` pointing at the root. The fakes' ``#!/bin/sh`` lines are rewritten to the shell
under test, and the only other tools on PATH are busybox applets, as on a lab host. Expected
outputs follow shared/reference (openbsd.md, freebsd.md, netbsd.md, scenarios.md).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

FAKES = Path(__file__).resolve().parents[2] / "bsdprov" / "lab" / "fakes"
SHELLS = {
    "dash": ["/usr/bin/dash"],
    "ash": ["/usr/bin/busybox", "sh"],
    "mksh": ["/usr/bin/mksh"],
}
APPLETS = [
    "awk",
    "basename",
    "cat",
    "chmod",
    "chown",
    "cp",
    "cut",
    "date",
    "dirname",
    "env",
    "expr",
    "find",
    "grep",
    "head",
    "id",
    "ln",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "printf",
    "rm",
    "rmdir",
    "sed",
    "sleep",
    "sort",
    "stat",
    "tail",
    "tee",
    "test",
    "touch",
    "tr",
    "uniq",
    "wc",
]
NIC = {"openbsd": "vio0", "freebsd": "vtnet0", "netbsd": "vioif0"}
UNREACHABLE = "route: writing to routing socket: Network is unreachable"


def _need(tool: str) -> None:
    """Skip when a tool (a name on PATH or an absolute path) is missing; in CI, fail."""
    found = os.access(tool, os.X_OK) if "/" in tool else shutil.which(tool) is not None
    if not found:
        msg = f"{tool} is not installed (apt-get install busybox mksh dash shellcheck)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@dataclass(frozen=True)
class Result:
    rc: int
    out: str
    err: str


class Host:
    """One simulated host: a root directory and the shell that runs its scripts."""

    def __init__(self, root: Path, shell: list[str], tools: Path) -> None:
        self.root = root
        self.shell = shell
        self.env = {
            "LAB_ROOT": str(root),
            "PATH": ":".join(
                [*(str(root / d) for d in ("sbin", "bin", "usr/sbin", "usr/bin")), str(tools)]
            ),
            "HOME": str(root / "tmp"),
            "LC_ALL": "C",
        }

    def run(self, script: str, stdin: str = "") -> Result:
        """Run a command line the way ``ssh host /bin/sh -c`` would."""
        proc = subprocess.run(
            [*self.shell, "-c", script],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.root / "tmp",
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, script: str) -> str:
        """Run a command line that must succeed; return its stdout."""
        res = self.run(script)
        assert res.rc == 0, f"{script!r} failed ({res.rc}):\n{res.out}{res.err}"
        return res.out

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def write(self, host_path: str, text: str, mode: int = 0o644) -> None:
        p = self.path(host_path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        p.chmod(mode)

    def calls(self) -> list[list[str]]:
        """The argv of every faked tool called so far, from the host's call log."""
        log = self.path("/var/log/lab-calls.log").read_text()
        return [shlex.split(line) for line in log.splitlines()]

    def clear_calls(self) -> None:
        self.path("/var/log/lab-calls.log").write_text("")

    def reachable(self) -> bool:
        return self.run("$LAB_ROOT/usr/libexec/lab/reachable").rc == 0


def _build_root(root: Path, os_name: str, shell: list[str]) -> None:
    shutil.copytree(FAKES / "common", root, symlinks=True)
    shutil.copytree(FAKES / os_name, root, symlinks=True, dirs_exist_ok=True)
    shebang = "#!" + " ".join(shell)
    for f in root.rglob("*"):
        if f.is_file() and f.read_bytes().startswith(b"#!/bin/sh"):
            lines = f.read_text().split("\n")
            lines[0] = shebang
            f.write_text("\n".join(lines))
            f.chmod(0o755)
    (root / "tmp").mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def _tools(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    made: dict[str, Path] = {}

    def tools(shell_name: str) -> Path:
        if shell_name not in made:
            d = tmp_path_factory.mktemp(f"tools-{shell_name}")
            for applet in APPLETS:
                (d / applet).symlink_to("/usr/bin/busybox")
            (d / "sh").symlink_to(SHELLS[shell_name][0])
            made[shell_name] = d
        return made[shell_name]

    return tools


@pytest.fixture(scope="session")
def _templates(
    tmp_path_factory: pytest.TempPathFactory, _tools: Callable[[str], Path]
) -> Callable[[str, str, tuple[str, ...]], Path]:
    """Initialised roots, built once per (os, shell, init-state arguments)."""
    made: dict[tuple[str, str, tuple[str, ...]], Path] = {}

    def template(os_name: str, shell_name: str, args: tuple[str, ...]) -> Path:
        key = (os_name, shell_name, args)
        if key not in made:
            root = tmp_path_factory.mktemp(f"{os_name}-{shell_name}") / "root"
            _build_root(root, os_name, SHELLS[shell_name])
            proc = subprocess.run(
                [*SHELLS[shell_name], str(FAKES / "init-state.sh"), *args],
                capture_output=True,
                text=True,
                env={"LAB_ROOT": str(root), "PATH": str(_tools(shell_name))},
            )
            assert proc.returncode == 0, proc.stderr
            made[key] = root
        return made[key]

    return template


@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> str:
    _need(SHELLS[request.param][0])
    return str(request.param)


DEFAULT_ARGS = {
    "openbsd": ("-n", "obsd1.example.org", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1"),
    "freebsd": ("-n", "fbsd1.example.org", "freebsd", "vtnet0", "192.0.2.10/24", "192.0.2.1"),
    "netbsd": ("-n", "nbsd1.example.org", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1"),
}


@pytest.fixture
def make_host(
    shell: str,
    tmp_path: Path,
    _templates: Callable[[str, str, tuple[str, ...]], Path],
    _tools: Callable[[str], Path],
) -> Callable[..., Host]:
    """make_host(os[, init-state args...]) -> a fresh host of that OS under the shell under test."""
    count = 0

    def make(os_name: str, *args: str) -> Host:
        nonlocal count
        count += 1
        root = tmp_path / f"host{count}"
        shutil.copytree(
            _templates(os_name, shell, args or DEFAULT_ARGS[os_name]), root, symlinks=True
        )
        return Host(root, SHELLS[shell], _tools(shell))

    return make


def failover(os_name: str) -> tuple[str, ...]:
    """A provider host on 198.51.100.23/24, gateway .1: scenario (a)'s network."""
    return ("-n", f"{os_name[0]}bsd1", os_name, NIC[os_name], "198.51.100.23/24", "198.51.100.1")


# ---- common tools ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("os_name", "uname_a", "machine"),
    [
        ("openbsd", "OpenBSD obsd1.example.org 7.6 GENERIC.MP#338 amd64", "amd64\namd64\n"),
        (
            "freebsd",
            "FreeBSD fbsd1.example.org 14.1-RELEASE FreeBSD 14.1-RELEASE "
            "releng/14.1-n267679-10e31f0946d8 GENERIC amd64",
            "amd64\namd64\n",
        ),
        (
            "netbsd",
            "NetBSD nbsd1.example.org 10.0 NetBSD 10.0 (GENERIC) #0: Thu Mar 28 08:33:33 UTC 2024"
            "  mkrepro@mkrepro.NetBSD.org:/usr/src/sys/arch/amd64/compile/GENERIC amd64",
            "amd64\nx86_64\n",
        ),
    ],
)
def test_uname_answers_as_its_os(
    make_host: Callable[..., Host], os_name: str, uname_a: str, machine: str
) -> None:
    host = make_host(os_name)
    assert host.ok("uname -a") == uname_a + "\n"
    release = {"openbsd": "7.6", "freebsd": "14.1-RELEASE", "netbsd": "10.0"}[os_name]
    assert host.ok("uname -sr") == f"{uname_a.split()[0]} {release}\n"
    assert host.ok("uname -m; uname -p") == machine
    assert host.ok("sysctl -n kern.osrelease") == release + "\n"
    assert host.ok("hostname") == uname_a.split()[1] + "\n"
    assert host.run("uname -x").rc == 1


def test_freebsd_version_reports_the_release(make_host: Callable[..., Host]) -> None:
    assert make_host("freebsd").ok("freebsd-version -kru") == "14.1-RELEASE\n" * 3


@pytest.mark.parametrize(
    ("os_name", "shown", "changed"),
    [
        ("openbsd", "net.inet.ip.forwarding=0\n", "net.inet.ip.forwarding: 0 -> 1\n"),
        ("freebsd", "net.inet.ip.forwarding: 0\n", "net.inet.ip.forwarding: 0 -> 1\n"),
        ("netbsd", "net.inet.ip.forwarding = 0\n", "net.inet.ip.forwarding: 0 -> 1\n"),
    ],
)
def test_sysctl_prints_and_sets_in_the_os_format(
    make_host: Callable[..., Host], os_name: str, shown: str, changed: str
) -> None:
    host = make_host(os_name)
    assert host.ok("sysctl net.inet.ip.forwarding") == shown
    assert host.ok("sysctl net.inet.ip.forwarding=1") == changed
    assert host.ok("sysctl -n net.inet.ip.forwarding") == "1\n"
    res = host.run("sysctl net.inet.no.such")
    assert res.rc == 1
    assert "no.such" in res.err
    assert host.run("sysctl kern.ostype=Linux").rc == 1


def test_call_log_holds_each_argv_quoted(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.ok('ifconfig vio0 description "Bob\'s uplink"; ifconfig vio0 | grep -q "Bob\'s"')
    host.ok("sh $LAB_ROOT/etc/netstart -n vio0 >/dev/null")
    assert host.calls() == [
        ["/sbin/ifconfig", "vio0", "description", "Bob's uplink"],
        ["/sbin/ifconfig", "vio0"],
        ["/etc/netstart", "-n", "vio0"],
        ["/sbin/ifconfig", "-C"],
    ]


def test_fault_switches_fail_and_hang_a_command(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.write("/var/lab/faults/fail/route", "route: simulated breakage\n")
    res = host.run("route -n get default")
    assert (res.rc, res.err) == (1, "route: simulated breakage\n")
    assert host.calls()[-1] == ["/sbin/route", "-n", "get", "default"]
    host.write("/var/lab/faults/fail/pfctl", "")
    assert host.run("pfctl -sr").err == "pfctl: injected failure\n"
    # hang and fail-once stand for a run's command: they act only while a run holds the lock.
    host.write("/var/lab/faults/hang/uname", "1")
    start = time.monotonic()
    assert host.ok("uname -s") == "OpenBSD\n"
    assert time.monotonic() - start < 1, "no run: the probe's call does not hang"
    host.write("/var/db/bsdprov/lock/run", "R1\n")
    start = time.monotonic()
    assert host.ok("uname -s") == "OpenBSD\n"
    assert time.monotonic() - start >= 1
    host.path("/var/lab/faults/fail/route").unlink()
    assert "gateway: 192.0.2.1" in host.ok("route -n get default")
    host.write("/var/lab/faults/fail-once/route", "")
    assert host.run("route -n get default").err == "route: injected failure\n"
    assert "gateway: 192.0.2.1" in host.ok("route -n get default"), "only the next call fails"


# ---- ifconfig -----------------------------------------------------------------------------

IFCONFIG = {
    "openbsd": (
        "vio0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
        "\tlladdr 52:54:00:00:00:01\n"
        "\tindex 1 priority 0 llprio 3\n"
        "\tgroups: egress\n"
        "\tmedia: Ethernet autoselect\n"
        "\tstatus: active\n"
        "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255\n"
    ),
    "freebsd": (
        "vtnet0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 mtu 1500\n"
        "\toptions=4c079b<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,VLAN_HWCSUM,TSO4,TSO6,LRO,"
        "VLAN_HWTSO,LINKSTATE,TXCSUM_IPV6>\n"
        "\tether 52:54:00:00:00:01\n"
        "\tinet 192.0.2.10 netmask 0xffffff00 broadcast 192.0.2.255\n"
        "\tmedia: Ethernet autoselect (10Gbase-T <full-duplex>)\n"
        "\tstatus: active\n"
        "\tnd6 options=21<PERFORMNUD,AUTO_LINKLOCAL>\n"
    ),
    "netbsd": (
        "vioif0: flags=0x8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> mtu 1500\n"
        "\tec_capabilities=0x1<VLAN_MTU>\n"
        "\tec_enabled=0\n"
        "\taddress: 52:54:00:00:00:01\n"
        "\tstatus: active\n"
        "\tinet 192.0.2.10/24 broadcast 192.0.2.255 flags 0\n"
    ),
}


@pytest.mark.parametrize("os_name", sorted(IFCONFIG))
def test_ifconfig_shows_an_interface_in_the_os_format(
    make_host: Callable[..., Host], os_name: str
) -> None:
    host = make_host(os_name)
    assert host.ok(f"ifconfig {NIC[os_name]}") == IFCONFIG[os_name]
    assert host.ok("ifconfig -a").startswith(IFCONFIG[os_name] + "lo0: flags=")
    res = host.run("ifconfig nosuch0")
    assert res.rc == 1
    assert "nosuch0" in res.err


@pytest.mark.parametrize("os_name", sorted(NIC))
def test_ifconfig_address_changes(make_host: Callable[..., Host], os_name: str) -> None:
    host = make_host(os_name)
    nic = NIC[os_name]
    host.ok(f"ifconfig {nic} inet 192.0.2.20 netmask 255.255.255.255 alias")
    host.ok(f"ifconfig {nic} inet6 2001:DB8:0:0::10 prefixlen 64")
    if os_name == "freebsd":  # a family word (ether) is read only first: ifconfig.c main()
        host.ok(f"ifconfig {nic} ether 02:00:00:AA:BB:10 && ifconfig {nic} mtu 1400")
    elif os_name == "netbsd":  # the MAC is NetBSD's link family (af_link.c), not lladdr
        host.ok(f"ifconfig {nic} mtu 1400")
        host.ok(f"ifconfig {nic} link 02:00:00:AA:BB:10 active")
    else:
        host.ok(f"ifconfig {nic} mtu 1400 lladdr 02:00:00:AA:BB:10")
    shown = host.ok(f"ifconfig {nic}")
    assert "mtu 1400" in shown
    assert "02:00:00:aa:bb:10" in shown
    assert "2001:db8::10" in shown
    assert "192.0.2.20" in shown
    # Without alias, an inet address replaces the first one.
    host.ok(f"ifconfig {nic} inet 192.0.2.11/24")
    shown = host.ok(f"ifconfig {nic} inet")
    assert "192.0.2.10" not in shown
    assert "192.0.2.11" in shown
    assert "inet6" not in shown
    host.ok(f"ifconfig {nic} inet 192.0.2.20 -alias")
    assert "192.0.2.20" not in host.ok(f"ifconfig {nic}")
    res = host.run(f"ifconfig {nic} inet 192.0.2.99 delete")
    assert res.rc == 1
    assert host.run(f"ifconfig {nic} inet 300.1.1.1").err == "ifconfig: 300.1.1.1: bad value\n"
    if os_name == "freebsd":  # no -inet6 command there: the word is taken for an address
        assert host.run(f"ifconfig {nic} -inet6").err == "ifconfig: -inet6: bad value\n"
    if os_name in ("freebsd", "netbsd"):  # NetBSD has no -inet6 either: one by one
        host.ok(f"ifconfig {nic} inet6 2001:db8::10 -alias")
    else:
        host.ok(f"ifconfig {nic} -inet6")
    assert "inet6" not in host.ok(f"ifconfig {nic}")


def test_openbsd_ifconfig_pseudo_interfaces(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
    assert host.run("ifconfig vlan10").rc == 1
    # OpenBSD creates a cloneable interface it is told to configure.
    host.ok("ifconfig vlan10 vnetid 10 parent vio0 description 'vlan10 to VMs' up")
    assert "\tencap: vnetid 10 parent vio0 txprio packet rxprio outer\n" in host.ok(
        "ifconfig vlan10"
    )
    host.ok(
        "ifconfig bridge0 create; ifconfig vether0 create; ifconfig bridge0 add vio0 add vether0 up"
    )
    assert host.ok("ifconfig bridge0") == (
        "bridge0: flags=41<UP,RUNNING>\n"
        "\tindex 4 llprio 3\n"
        "\tgroups: bridge\n"
        "\tpriority 32768 hellotime 2 fwddelay 15 maxage 20 holdcnt 6 proto rstp\n"
        "\tdesignated: id 00:00:00:00:00:00 priority 0\n"
        "\tvether0 flags=3<LEARNING,DISCOVER>\n"
        "\t\tport 5 ifpriority 0 ifcost 0\n"
        "\tvio0 flags=3<LEARNING,DISCOVER>\n"
        "\t\tport 1 ifpriority 0 ifcost 0\n"
        "\tAddresses (max cache: 100, timeout: 240):\n"
    )
    assert host.run("ifconfig bridge0 create").err == "ifconfig: SIOCIFCREATE: File exists\n"
    assert host.run("ifconfig vio0 destroy").rc == 1
    host.ok("ifconfig vether0 destroy")
    assert "vether0" not in host.ok("ifconfig bridge0")
    assert "bridge aggr" not in host.ok("ifconfig -C")
    assert "bridge" in host.ok("ifconfig -C").split()


def test_freebsd_ifconfig_vlan_and_bridge(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    assert host.run("ifconfig vlan10 vlan 10").rc == 1
    host.ok("ifconfig vtnet0.10 create vlan 10 vlandev vtnet0")
    assert "\tvlan: 10 vlanproto: 802.1q vlanpcp: 0 parent interface: vtnet0\n" in host.ok(
        "ifconfig vtnet0.10"
    )
    host.ok("ifconfig bridge0 create addm vtnet0 up")
    assert "\tmember: vtnet0 flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>\n" in host.ok(
        "ifconfig bridge0"
    )
    assert host.ok("ifconfig -l") == "vtnet0 lo0 vtnet0.10 bridge0\n"


# ---- routes -------------------------------------------------------------------------------

NETSTAT = {
    "openbsd": [
        "Routing tables",
        "",
        "Internet:",
        "Destination        Gateway            Flags   Refs      Use   Mtu  Prio Iface",
        "default            192.0.2.1          UGS        0        0     -     8 vio0 ",
        "127/8              127.0.0.1          UGRS       0        0 32768     8 lo0  ",
        "127.0.0.1          127.0.0.1          UHhl       0        0 32768     1 lo0  ",
        "192.0.2/24         192.0.2.10         UCn        0        0     -     4 vio0 ",
        "192.0.2.10         52:54:00:00:00:01  UHLl       0        0     -     1 vio0 ",
        "192.0.2.255        192.0.2.10         UHb        0        0     -     1 vio0 ",
        "224/4              127.0.0.1          URS        0        0 32768     8 lo0  ",
    ],
    "freebsd": [
        "Routing tables",
        "",
        "Internet:",
        "Destination        Gateway            Flags         Netif Expire",
        "default            192.0.2.1          UGS          vtnet0",
        "127.0.0.1          link#2             UH              lo0",
        "192.0.2.0/24       link#1             U            vtnet0",
        "192.0.2.10         link#2             UHS             lo0",
    ],
    "netbsd": [
        "Routing tables",
        "",
        "Internet:",
        "Destination        Gateway            Flags    Refs      Use    Mtu Interface",
        "default            192.0.2.1          UGS         -        -      -  vioif0",
        "127/8              127.0.0.1          UGRS        -        -  33624  lo0",
        "127.0.0.1          lo0                UHl         -        -  33624  lo0",
        "192.0.2/24         link#1             UC          -        -      -  vioif0",
        "192.0.2.10         vioif0             UHl         -        -      -  lo0",
    ],
}


@pytest.mark.parametrize("os_name", sorted(NETSTAT))
def test_netstat_prints_the_os_routing_table(make_host: Callable[..., Host], os_name: str) -> None:
    host = make_host(os_name)
    assert host.ok("netstat -rn -f inet").split("\n")[:-1] == NETSTAT[os_name]
    both = host.ok("netstat -rn")
    assert "\nInternet6:\n" in both
    assert "::1" in both
    if os_name == "openbsd":
        assert host.ok("route -n show -inet") == host.ok("netstat -rn -f inet")


ROUTE_GET = {
    "openbsd": (
        "   route to: default\n"
        "destination: default\n"
        "       mask: default\n"
        "    gateway: 192.0.2.1\n"
        "  interface: vio0\n"
        " if address: 192.0.2.10\n"
        "   priority: 8 (static)\n"
        "      flags: <UP,GATEWAY,DONE,STATIC>\n"
        "     use       mtu    expire\n"
        "       0         0         0 \n"
    ),
    "freebsd": (
        "   route to: default\n"
        "destination: default\n"
        "       mask: default\n"
        "    gateway: 192.0.2.1\n"
        "        fib: 0\n"
        "  interface: vtnet0\n"
        "      flags: <UP,GATEWAY,DONE,STATIC>\n"
        " recvpipe  sendpipe  ssthresh  rtt,msec    mtu        weight    expire\n"
        "       0         0         0         0      1500         1         0\n"
    ),
    "netbsd": (
        "   route to: default\n"
        "destination: default\n"
        "       mask: default\n"
        "    gateway: 192.0.2.1\n"
        " local addr: 192.0.2.10\n"
        "  interface: vioif0\n"
        "      flags: 0x843<UP,GATEWAY,DONE,STATIC>\n"
        " recvpipe  sendpipe  ssthresh  rtt,msec    rttvar  hopcount      mtu     expire\n"
        "       0         0         0         0         0         0         0         0\n"
    ),
}


@pytest.mark.parametrize("os_name", sorted(ROUTE_GET))
def test_route_get_in_the_os_format(make_host: Callable[..., Host], os_name: str) -> None:
    host = make_host(os_name)
    assert host.ok("route -n get default") == ROUTE_GET[os_name]
    on_link = host.ok("route -n get 192.0.2.77")
    assert f"  interface: {NIC[os_name]}\n" in on_link
    assert "gateway:" not in on_link
    host.ok("route -n delete default")
    res = host.run("route -n get 198.51.100.7")
    assert (res.rc, res.err) == (1, "route: route has not been found\n")


@pytest.mark.parametrize("os_name", sorted(NIC))
def test_route_refuses_a_gateway_that_is_not_on_link(
    make_host: Callable[..., Host], os_name: str
) -> None:
    host = make_host(os_name, *failover(os_name))
    nic = NIC[os_name]
    host.ok(f"route -n delete default; ifconfig {nic} inet 203.0.113.10 netmask 255.255.255.255")
    res = host.run("route add default 198.51.100.1")
    assert res.rc == 1
    assert res.err == UNREACHABLE + "\n"
    assert res.out.startswith("add net default: gateway 198.51.100.1")
    assert res.out.rstrip().endswith("Network is unreachable")
    # -q keeps quiet but still fails.
    assert host.run("route -q add default 198.51.100.1") == Result(1, "", "")
    # Each OS's recipe for the on-link host route, then the default works.
    recipe = {
        "openbsd": f"route -qn add -inet 198.51.100.1 -cloning -link -iface {nic}",
        "freebsd": f"route add -host 198.51.100.1 -interface {nic}",
        "netbsd": "route -q add -host 198.51.100.1 -iface 203.0.113.10",
    }[os_name]
    host.ok(recipe)
    assert host.ok("route add default 198.51.100.1") == "add net default: gateway 198.51.100.1\n"
    got = host.ok("route -n get default")
    assert "    gateway: 198.51.100.1\n" in got
    assert f"  interface: {nic}\n" in got
    host_route = host.ok("route -n get 198.51.100.1")
    assert f"  interface: {nic}\n" in host_route
    assert "gateway:" not in host_route
    dup = host.run("route add default 198.51.100.1")
    assert dup.rc == 1
    assert dup.err == "route: writing to routing socket: File exists\n"
    # Removing the address takes the routes that hang on it, the default among them.
    host.ok(f"ifconfig {nic} inet 203.0.113.10 -alias")
    assert host.run("route -n get default").rc == 1


@pytest.mark.parametrize("os_name", sorted(NIC))
def test_route_change_delete_and_flush(make_host: Callable[..., Host], os_name: str) -> None:
    host = make_host(os_name)
    assert host.run("route change default 203.0.113.1").err == UNREACHABLE + "\n"
    host.ok("route change default 192.0.2.254")
    assert "gateway: 192.0.2.254" in host.ok("route -n get default")
    host.ok("route add -net 10.9.0.0/16 192.0.2.9; route add -inet6 default ::1")
    assert "10.9" in host.ok("netstat -rn -f inet")
    assert host.run("route delete -net 10.8.0.0/16").rc == 1
    host.ok("route -n flush -inet")
    table = host.ok("netstat -rn -f inet")
    assert "default" not in table
    assert "10.9" not in table
    assert "127.0.0.1" in table
    assert "default" in host.ok("netstat -rn -f inet6")


@pytest.mark.parametrize("os_name", sorted(NIC))
def test_reachable_follows_the_management_address_and_default_route(
    make_host: Callable[..., Host], os_name: str
) -> None:
    host = make_host(os_name)
    nic = NIC[os_name]
    assert host.reachable()
    host.ok("route -n delete default")
    assert not host.reachable()
    host.ok("route add default 192.0.2.1")
    assert host.reachable()
    host.ok(f"ifconfig {nic} inet 192.0.2.11/24")
    assert not host.reachable()
    host.ok(f"ifconfig {nic} inet 192.0.2.10/24; route add default 192.0.2.1")
    assert host.reachable()
    assert host.calls()[-1][0] == "/sbin/route"


@pytest.mark.parametrize("os_name", sorted(NIC))
def test_direct_initial_state_matches_a_boot(make_host: Callable[..., Host], os_name: str) -> None:
    for args in (
        DEFAULT_ARGS[os_name],
        failover(os_name)[:-2] + ("203.0.113.10/32", "198.51.100.1"),
    ):
        direct = make_host(os_name, *args)
        booted = make_host(os_name, "-b", *args)
        assert direct.calls() == booted.calls() == []
        show = "ifconfig -a; netstat -rn; route -n get default"
        if os_name == "openbsd":
            show += "; pfctl -sr; rcctl ls started"
        assert booted.ok(show) == direct.ok(show)
        assert direct.reachable()


def test_init_state_writes_the_config_files(make_host: Callable[..., Host]) -> None:
    obsd = make_host("openbsd", "openbsd", "vio0", "203.0.113.12/32", "198.51.100.1")
    assert obsd.path("/etc/hostname.vio0").read_text() == (
        "inet 203.0.113.12 255.255.255.255\n"
        "!route -qn add -inet 198.51.100.1 -cloning -link -iface $if\n"
    )
    assert obsd.path("/etc/hostname.vio0").stat().st_mode & 0o777 == 0o640
    assert obsd.path("/etc/mygate").read_text() == "198.51.100.1\n"
    assert obsd.path("/var/lab/mgmt").read_text() == "vio0 203.0.113.12\n"
    fbsd = make_host("freebsd")
    assert fbsd.path("/etc/rc.conf").read_text() == (
        'hostname="fbsd1.example.org"\n'
        'ifconfig_vtnet0="inet 192.0.2.10 netmask 255.255.255.0"\n'
        'defaultrouter="192.0.2.1"\n'
        'sshd_enable="YES"\n'
    )
    nbsd = make_host("netbsd")
    assert (
        nbsd.path("/etc/ifconfig.vioif0").read_text() == "inet 192.0.2.10 netmask 255.255.255.0\n"
    )
    assert nbsd.path("/etc/rc.conf").read_text() == (
        'rc_configured=YES\nhostname=nbsd1.example.org\ndefaultroute="192.0.2.1"\nsshd=YES\n'
    )


# ---- OpenBSD: netstart ----------------------------------------------------------------------

SCENARIO_A_OBSD = (
    "inet 203.0.113.12 255.255.255.255\n"
    "!route -qn add -inet 198.51.100.1 -cloning -link -iface $if\n"
)


def test_netstart_dry_run_prints_scenario_a_commands(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", *failover("openbsd"))
    host.write("/etc/hostname.vio0", SCENARIO_A_OBSD, 0o640)
    host.write("/etc/mygate", "198.51.100.1\n")
    host.clear_calls()
    assert host.ok("sh $LAB_ROOT/etc/netstart -n vio0") == (
        "{ ifconfig vio0 || ifconfig vio0 create; }\n"
        "ifconfig vio0 inet 203.0.113.12 netmask 255.255.255.255\n"
        "route -qn add -inet 198.51.100.1 -cloning -link -iface vio0\n"
        "route -qn add -host default 198.51.100.1\n"
    )
    # -n changes nothing: only the dry run and its `ifconfig -C` ran.
    assert host.calls() == [["/etc/netstart", "-n", "vio0"], ["/sbin/ifconfig", "-C"]]


def test_netstart_applies_scenario_a(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", *failover("openbsd"))
    host.write("/etc/hostname.vio0", SCENARIO_A_OBSD, 0o640)
    host.write("/etc/mygate", "198.51.100.1\n")
    host.write("/var/lab/mgmt", "vio0 203.0.113.12\n")
    host.ok("ifconfig vio0 lladdr 02:00:00:aa:bb:12")
    host.ok(
        "nohup sh -c 'route -qn delete default; ifconfig vio0 -inet;"
        " sh $LAB_ROOT/etc/netstart vio0' >$LAB_ROOT/tmp/apply.log 2>&1"
    )
    shown = host.ok("ifconfig vio0")
    assert "\tlladdr 02:00:00:aa:bb:12\n" in shown
    assert "\tinet 203.0.113.12 netmask 0xffffffff\n" in shown
    got = host.ok("route -n get default")
    assert "    gateway: 198.51.100.1\n" in got
    assert "  interface: vio0\n" in got
    assert "      flags: <UP,GATEWAY,DONE,STATIC>\n" in got
    table = host.ok("netstat -rn -f inet")
    assert "default            198.51.100.1       UGS        0        0     -     8 vio0 " in table
    assert "198.51.100.1       link#1             UHCS       0        0     -     8 vio0 " in table
    assert host.reachable()
    ran = host.calls()
    assert ["/sbin/ifconfig", "vio0", "inet", "203.0.113.12", "netmask", "255.255.255.255"] in ran
    assert ran.index(
        [
            "/sbin/route",
            "-qn",
            "add",
            "-inet",
            "198.51.100.1",
            "-cloning",
            "-link",
            "-iface",
            "vio0",
        ]
    ) < ran.index(["/sbin/route", "-qn", "add", "-host", "default", "198.51.100.1"])


def test_netstart_in_the_wrong_order_loses_the_default_route(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd", *failover("openbsd"))
    # The host route after the default, in mygate: netstart adds mygate last, so the default
    # has no on-link gateway yet.
    host.write("/etc/hostname.vio0", "inet 203.0.113.12 255.255.255.255\n", 0o640)
    host.write(
        "/etc/mygate",
        "198.51.100.1\n!route -qn add -inet 198.51.100.1 -cloning -link -iface vio0\n",
    )
    host.write("/var/lab/mgmt", "vio0 203.0.113.12\n")
    host.ok("route -qn delete default; ifconfig vio0 -inet; sh $LAB_ROOT/etc/netstart vio0")
    assert host.run("route -n get default").rc == 1
    assert not host.reachable()


def test_netstart_parses_hostname_if_lines_like_netstart_1_229(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd")
    host.write(
        "/etc/hostname.vio0",
        "# a comment\n"
        "\n"
        'inet 192.0.2.10 255.255.255.0 NONE description "uplink  one"\n'
        "inet alias 192.0.2.11 255.255.255.255\n"
        "inet6 2001:db8::10 64\n"
        "inet6 alias 2001:db8::11 64\n"
        "inet 10.0.0.1 255.255.255.252\n"
        "dest 10.0.0.2\n"
        "!echo configuring $if\n"
        "mtu 1400\n"
        "up\n",
        0o640,
    )
    assert host.ok("sh $LAB_ROOT/etc/netstart -n vio0") == (
        "{ ifconfig vio0 || ifconfig vio0 create; }\n"
        'ifconfig vio0 inet 192.0.2.10 netmask 255.255.255.0  description "uplink one"\n'
        "ifconfig vio0 inet alias 192.0.2.11 netmask 255.255.255.255\n"
        "ifconfig vio0 inet6 2001:db8::10 prefixlen 64\n"
        "ifconfig vio0 inet6 alias 2001:db8::11 prefixlen 64\n"
        "ifconfig vio0 inet 10.0.0.1 10.0.0.2 netmask 255.255.255.252\n"
        "echo configuring vio0\n"
        "ifconfig vio0 mtu 1400\n"
        "ifconfig vio0 up\n"
        "route -qn add -host default 192.0.2.1\n"
    )
    assert host.ok("sh $LAB_ROOT/etc/netstart vio0") == "configuring vio0\n"
    shown = host.ok("ifconfig vio0")
    assert "\tdescription: uplink one\n" in shown
    assert "\tinet 192.0.2.11 netmask 0xffffffff\n" in shown
    assert "\tinet6 2001:db8::11 prefixlen 64\n" in shown
    assert "\tinet 10.0.0.1 --> 10.0.0.2 netmask 0xfffffffc\n" in shown
    assert "mtu 1400" in shown


def test_netstart_dhcp_and_autoconf_skip_mygate(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.write("/etc/mygate", "192.0.2.1\n2001:db8::1\n192.0.2.254\n")
    host.write("/etc/hostname.vio0", "dhcp media auto\ninet6 2001:db8::10 64\n", 0o640)
    assert host.ok("sh $LAB_ROOT/etc/netstart -n vio0").splitlines()[1:] == [
        "ifconfig vio0 inet autoconf",
        "ifconfig vio0 inet6 2001:db8::10 prefixlen 64",
        "route -qn add -host -inet6 default 2001:db8::1",
    ]
    host.write("/etc/hostname.vio0", "inet 192.0.2.10 255.255.255.0\ninet6 autoconf\n", 0o640)
    assert host.ok("sh $LAB_ROOT/etc/netstart -n vio0").splitlines()[-1] == (
        "route -qn add -host default 192.0.2.1"
    )
    host.ok("sh $LAB_ROOT/etc/netstart vio0")
    assert host.ok("ifconfig vio0").startswith(
        "vio0: flags=208843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,AUTOCONF6> mtu 1500\n"
    )


def test_netstart_fixes_permissions_and_reports_missing_files(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("openbsd")
    host.write("/etc/hostname.vio0", "inet 192.0.2.10 255.255.255.0\n", 0o644)
    res = host.run("sh $LAB_ROOT/etc/netstart -n vio0 em9 vio0.bak")
    assert res.rc == 0
    assert res.err == (
        "WARNING: /etc/hostname.vio0 is insecure, fixing permissions.\n"
        "netstart: /etc/hostname.em9: No such file or directory.\n"
    )
    assert host.path("/etc/hostname.vio0").stat().st_mode & 0o777 == 0o640
    assert host.run("sh $LAB_ROOT/etc/netstart -n vio0").err == ""
    # Without interfaces, -n prints the whole boot sequence (1.229 allows it).
    boot = host.ok("sh $LAB_ROOT/etc/netstart -n").splitlines()
    assert boot[:2] == [
        "ifconfig lo0 inet 127.0.0.1/8",
        "{ ifconfig vio0 || ifconfig vio0 create; }",
    ]
    assert boot[-1] == "route -qn add -net 127 127.0.0.1 -reject"
    assert host.run("sh $LAB_ROOT/etc/netstart -x").rc == 1


def test_netstart_creates_pseudo_interfaces_of_scenario_b(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", "-x", "em1", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
    scenario_b_interfaces(host)
    assert host.ok("sh $LAB_ROOT/etc/netstart -n em1 bridge0 vether0 bridge1") == (
        "{ ifconfig bridge0 || ifconfig bridge0 create; }\n"
        "{ ifconfig bridge1 || ifconfig bridge1 create; }\n"
        "{ ifconfig vether0 || ifconfig vether0 create; }\n"
        "{ ifconfig em1 || ifconfig em1 create; }\n"
        'ifconfig em1 description "trunk"\n'
        "ifconfig em1 up\n"
        "{ ifconfig bridge0 || ifconfig bridge0 create; }\n"
        "ifconfig bridge0 add em1\n"
        "ifconfig bridge0 up\n"
        "{ ifconfig vether0 || ifconfig vether0 create; }\n"
        'ifconfig vether0 inet 10.50.0.1 netmask 255.255.255.0  description "isolated gw"\n'
        "{ ifconfig bridge1 || ifconfig bridge1 create; }\n"
        "ifconfig bridge1 add vether0\n"
        "ifconfig bridge1 up\n"
        "route -qn add -host default 192.0.2.1\n"
    )
    host.ok("sh $LAB_ROOT/etc/netstart em1 bridge0 vether0 bridge1")
    assert "\tinet 10.50.0.1 netmask 0xffffff00 broadcast 10.50.0.255\n" in host.ok(
        "ifconfig vether0"
    )
    table = host.ok("netstat -rn -f inet")
    assert (
        "10.50.0/24         10.50.0.1          UCn        0        0     -     4 vether0" in table
    )
    assert "\tem1 flags=3<LEARNING,DISCOVER>\n" in host.ok("ifconfig bridge0")


# ---- OpenBSD: pf ------------------------------------------------------------------------------

PF_CONF = """\
# managed by bsdprov
isolated_net = "10.50.0.0/24"

set skip on lo
block return log

# host itself
pass out on egress
pass in on egress inet proto tcp to (egress) port ssh
pass in on egress inet proto icmp

# switch "lan": the uplink member is transparent; VM policy is enforced on each tap (anchors)
pass on em1                 # variant B: pass on vlan10

# switch "isolated": host routes and NATs the segment
pass on vether0 inet from $isolated_net
pass on vether0 inet to $isolated_net
match out on egress inet from $isolated_net to any nat-to (egress)

# per-VM policy; anchors come last so their "quick" rules decide for tap traffic
anchor "vm/*"
load anchor "vm/web01" from "/etc/pf.vm/web01.conf"
load anchor "vm/db01" from "/etc/pf.vm/db01.conf"
"""
WEB01 = """\
# anchor vm/web01 — web01 on tap0 (switch "lan")
# towards the VM = "out on tap0"; from the VM = "in on tap0"
pass out quick on tap0 inet proto tcp to port { 80 443 }
pass out quick on tap0 inet proto icmp icmp-type echoreq
block out quick on tap0
pass in quick on tap0 inet from 203.0.113.21
block in quick on tap0
"""
DB01 = """\
# anchor vm/db01 — db01 on tap1 (switch "isolated")
pass in quick on tap1 inet proto udp from any port 68 to any port 67
pass out quick on tap1 inet proto udp from any port 67 to any port 68
pass in quick on tap1 inet from 10.50.0.21 to ! 10.50.0.0/24
block quick on tap1
"""


def scenario_b_pf(host: Host) -> None:
    host.write("/etc/pf.conf", PF_CONF, 0o600)
    host.write("/etc/pf.vm/web01.conf", WEB01, 0o600)
    host.write("/etc/pf.vm/db01.conf", DB01, 0o600)


def test_pfctl_loads_scenario_b_with_its_anchors(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    scenario_b_pf(host)
    assert host.run("pfctl -nf /etc/pf.conf") == Result(0, "", "")
    assert host.ok("pfctl -a vm/web01 -nf /etc/pf.vm/web01.conf") == ""
    assert host.ok("pfctl -sr") == "block return all\npass all flags S/SA\n"
    host.ok("pfctl -f /etc/pf.conf")
    assert host.ok("pfctl -sr") == (
        "block return log all\n"
        "pass out on egress all flags S/SA\n"
        "pass in on egress inet proto tcp from any to (egress) port = 22 flags S/SA\n"
        "pass in on egress inet proto icmp all\n"
        "pass on em1 all flags S/SA\n"
        "pass on vether0 inet from 10.50.0.0/24 to any flags S/SA\n"
        "pass on vether0 inet from any to 10.50.0.0/24 flags S/SA\n"
        "match out on egress inet from 10.50.0.0/24 to any nat-to (egress)\n"
        'anchor "vm/*" all\n'
    )
    assert host.ok("pfctl -sA") == "  vm\n"
    assert host.ok("pfctl -vsA") == "  vm\n  vm/db01\n  vm/web01\n"
    assert host.ok("pfctl -a 'vm/*' -sr") == (
        'anchor "db01" all {\n'
        "  pass in quick on tap1 inet proto udp from any port = 68 to any port = 67\n"
        "  pass out quick on tap1 inet proto udp from any port = 67 to any port = 68\n"
        "  pass in quick on tap1 inet from 10.50.0.21 to ! 10.50.0.0/24 flags S/SA\n"
        "  block quick on tap1 all\n"
        "}\n"
        'anchor "web01" all {\n'
        "  pass out quick on tap0 inet proto tcp from any to any port = 80 flags S/SA\n"
        "  pass out quick on tap0 inet proto tcp from any to any port = 443 flags S/SA\n"
        "  pass out quick on tap0 inet proto icmp all icmp-type echoreq\n"
        "  block out quick on tap0 all\n"
        "  pass in quick on tap0 inet from 203.0.113.21 to any flags S/SA\n"
        "  block in quick on tap0 all\n"
        "}\n"
    )
    assert host.ok("pfctl -vvsr").startswith(
        "@0 block return log all\n"
        "  [ Evaluations: 0         Packets: 0         Bytes: 0           States: 0     ]\n"
    )
    # A per-VM change reloads one anchor only.
    host.write("/etc/pf.vm/web01.conf", "block quick on tap0\n", 0o600)
    host.ok(
        "pfctl -a vm/web01 -nf /etc/pf.vm/web01.conf && pfctl -a vm/web01 -f /etc/pf.vm/web01.conf"
    )
    assert host.ok("pfctl -a vm/web01 -sr") == "block quick on tap0 all\n"
    assert host.ok("pfctl -sr").endswith('anchor "vm/*" all\n')
    host.run("pfctl -a vm/web01 -F rules")
    assert host.ok("pfctl -a vm/web01 -sr") == ""
    assert host.ok("pfctl -a vm/db01 -sr") != ""


def test_pfctl_accepts_common_constructs(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.write(
        "/etc/pf.conf",
        "set block-policy drop\n"
        "set limit { states 10000, frags 2000 }\n"
        "table <bruteforce> persist\n"
        "table <lan> const { 192.0.2.0/24, 10.50.0.0/24 }\n"
        "block in quick from <bruteforce>\n"
        "pass in on egress proto tcp from <lan> to (egress) port { ssh, https } \\\n"
        "\tkeep state (max-src-conn 10, overload <bruteforce> flush global)\n"
        'pass out on egress proto { tcp udp } to port 53 label "dns"\n'
        'anchor "inline" in on egress {\n\tpass in proto tcp to port 8080\n}\n'
        "pass in on vio0 inet proto tcp from any port > 1023 to 192.0.2.10 port 6000:6010 "
        "rdr-to 127.0.0.1 port 8080\n",
        0o600,
    )
    host.ok("pfctl -f /etc/pf.conf")
    assert host.ok("pfctl -sr").splitlines() == [
        "block in quick from <bruteforce> to any",
        "pass in on egress proto tcp from <lan> to (egress) port = 22 flags S/SA"
        " keep state (max-src-conn 10, overload <bruteforce> flush global)",
        "pass in on egress proto tcp from <lan> to (egress) port = 443 flags S/SA"
        " keep state (max-src-conn 10, overload <bruteforce> flush global)",
        'pass out on egress proto tcp from any to any port = 53 flags S/SA label "dns"',
        'pass out on egress proto udp from any to any port = 53 label "dns"',
        'anchor "inline" in on egress all',
        "pass in on vio0 inet proto tcp from any port > 1023 to 192.0.2.10 port 6000:6010"
        " flags S/SA rdr-to 127.0.0.1 port = 8080",
    ]
    assert (
        host.ok("pfctl -a inline -sr")
        == "pass in proto tcp from any to any port = 8080 flags S/SA\n"
    )


@pytest.mark.parametrize(
    ("conf", "errors"),
    [
        (
            'anchor "vm/*"\nload anchor "vm/web01" from "/etc/pf.vm/web01.conf"\n'
            'load anchor "other/x" from "/etc/pf.vm/web01.conf"\n',
            ["/etc/pf.conf:3: syntax error"],
        ),
        (
            'load anchor "vm/web01" from "/etc/pf.vm/web01.conf"\nanchor "vm/*"\n',
            ["/etc/pf.conf:1: syntax error"],
        ),
        ("pass out on egress\npas in all\n", ["/etc/pf.conf:2: syntax error"]),
        ("pass in on egress proto tcp to port ssh keep stat\n", ["/etc/pf.conf:1: syntax error"]),
        (
            "block return\npass in on egress proto tcp to port { 80 443\nblock all\n",
            ["/etc/pf.conf:3: syntax error"],
        ),
        ("pass out on egress }\n", ["/etc/pf.conf:1: syntax error"]),
        (
            'ext = "em0"\npass in on $ext\npass out on $int_if\n',
            ["/etc/pf.conf:3: macro 'int_if' not defined", "/etc/pf.conf:3: syntax error"],
        ),
        ("pass in proto tcp to port bogus\n", ["/etc/pf.conf:1: unknown port bogus"]),
        ("pass in proto tpc\n", ["/etc/pf.conf:1: unknown protocol tpc"]),
        (
            "pass in on tap0 from tap0:network\n",
            [
                "/etc/pf.conf:1: no IP address found for tap0:network",
                "/etc/pf.conf:1: could not parse host specification",
            ],
        ),
    ],
)
def test_pfctl_rejects_what_pf_conf_rejects(
    make_host: Callable[..., Host], conf: str, errors: list[str]
) -> None:
    host = make_host("openbsd")
    host.write("/etc/pf.vm/web01.conf", WEB01, 0o600)
    host.write("/etc/pf.conf", conf, 0o600)
    assert host.run("pfctl -nf /etc/pf.conf") == Result(1, "", "\n".join(errors) + "\n")
    loaded = host.run("pfctl -f /etc/pf.conf")
    assert loaded.rc == 1
    assert loaded.err.splitlines() == [
        *errors,
        "pfctl: Syntax error in config file: pf rules not loaded",
    ]
    assert host.ok("pfctl -sr") == "block return all\npass all flags S/SA\n"


def test_pfctl_errors_name_the_anchor_file(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    scenario_b_pf(host)
    host.write("/etc/pf.vm/db01.conf", "pass in quick on tap1\nblock quik on tap1\n", 0o600)
    res = host.run("pfctl -nf /etc/pf.conf")
    assert (res.rc, res.err) == (1, "/etc/pf.vm/db01.conf:2: syntax error\n")
    assert host.run("pfctl -a vm/db01 -nf /etc/pf.vm/db01.conf").err == (
        "/etc/pf.vm/db01.conf:2: syntax error\n"
    )
    # Interface addresses resolve once the interface has one; the dynamic form always does.
    host.write("/etc/pf.conf", "pass in on vio0 from vio0:network to (vio0)\n", 0o600)
    host.ok("pfctl -f /etc/pf.conf")
    assert host.ok("pfctl -sr") == "pass in on vio0 from 192.0.2.0/24 to (vio0) flags S/SA\n"


def test_pfctl_enable_disable_and_stdin(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    assert host.run("pfctl -e") == Result(1, "", "pfctl: pf already enabled\n")
    assert host.run("pfctl -d") == Result(0, "", "pf disabled\n")
    assert host.ok("pfctl -si").startswith("Status: Disabled")
    assert host.run("pfctl -e").err == "pf enabled\n"
    res = host.run("echo 'pass in al' | pfctl -nf -")
    assert (res.rc, res.err) == (1, "stdin:1: syntax error\n")
    host.ok("echo 'block all' | pfctl -f -")
    assert host.ok("pfctl -sr") == "block all\n"
    assert host.run("pfctl -F rules").err == "rules cleared\n"
    assert host.ok("pfctl -sr") == ""


# ---- OpenBSD: rcctl, vmd, vmctl, dhcpd --------------------------------------------------------

VM_CONF = """\
# managed by bsdprov
switch "lan" {
\tinterface bridge0
}

switch "isolated" {
\tinterface bridge1
}

vm "web01" {
\tmemory 1G
\tdisk "/var/vmm/web01.qcow2" format qcow2
\tinterface tap0 {
\t\tswitch "lan"
\t\tlocked lladdr 02:00:00:00:01:01
\t}
}

vm "db01" {
\tmemory 2G
\tdisk "/var/vmm/db01.qcow2" format qcow2
\tinterface tap1 {
\t\tswitch "isolated"
\t\tlocked lladdr 02:00:00:00:01:02
\t}
}
"""
DHCPD_CONF = """\
option domain-name-servers 192.0.2.53;

subnet 10.50.0.0 netmask 255.255.255.0 {
\toption routers 10.50.0.1;
\trange 10.50.0.100 10.50.0.199;
\thost db01 {
\t\thardware ethernet 02:00:00:00:01:02;
\t\tfixed-address 10.50.0.21;
\t}
}
"""


def scenario_b_interfaces(host: Host) -> None:
    host.write("/etc/hostname.em1", 'description "trunk"\nup\n', 0o640)
    host.write("/etc/hostname.bridge0", "add em1\nup\n", 0o640)
    host.write(
        "/etc/hostname.vether0",
        'inet 10.50.0.1 255.255.255.0 NONE description "isolated gw"\n',
        0o640,
    )
    host.write("/etc/hostname.bridge1", "add vether0\nup\n", 0o640)


def test_rcctl_manages_rc_conf_local_and_daemons(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    assert host.ok("rcctl check sshd") == "sshd(ok)\n"
    assert host.run("rcctl check vmd") == Result(1, "vmd(failed)\n", "")
    res = host.run("rcctl start vmd")
    assert (res.rc, res.err) == (1, "/etc/rc.d/vmd: need -f to force start since vmd_flags=NO\n")
    assert host.run("rcctl start nosuchd") == Result(
        2, "", "rcctl: service nosuchd does not exist\n"
    )
    host.ok("rcctl set dhcpd flags vether0 && rcctl enable dhcpd && rcctl enable vmd")
    assert host.path("/etc/rc.conf.local").read_text() == "dhcpd_flags=vether0\nvmd_flags=\n"
    assert host.ok("rcctl get dhcpd flags") == "vether0\n"
    assert host.ok("rcctl ls on").split() == [
        "cron",
        "dhcpd",
        "dhcpleased",
        "ntpd",
        "pflogd",
        "resolvd",
        "slaacd",
        "smtpd",
        "sshd",
        "syslogd",
        "vmd",
    ]
    # dhcpd needs its interface and a valid config.
    assert host.run("rcctl start dhcpd") == Result(1, "dhcpd(failed)\n", "")
    host.ok("ifconfig vether0 create; ifconfig vether0 inet 10.50.0.1/24")
    host.write("/etc/dhcpd.conf", DHCPD_CONF)
    assert host.ok("rcctl restart dhcpd") == "dhcpd(ok)\n"
    assert host.ok("rcctl start dhcpd") == ""
    assert host.ok("rcctl restart dhcpd") == "dhcpd(ok)\ndhcpd(ok)\n"
    assert host.ok("rcctl stop dhcpd; rcctl stop dhcpd") == "dhcpd(ok)\n"
    host.ok("rcctl disable sshd")
    assert "sshd_flags=NO\n" in host.path("/etc/rc.conf.local").read_text()
    assert host.ok("rcctl ls rogue") == "sshd\n"
    host.write("/var/lab/faults/fail/ntpd", "")
    assert host.run("rcctl restart ntpd") == Result(1, "ntpd(ok)\nntpd(failed)\n", "")


def test_dhcpd_n_checks_the_config(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.write("/etc/dhcpd.conf", DHCPD_CONF)
    assert host.run("dhcpd -n") == Result(0, "", "")
    host.write("/etc/dhcpd.conf", DHCPD_CONF.replace("10.50.0.1;", "10.50.0.1"))
    assert host.run("dhcpd -n") == Result(
        1,
        "",
        "/etc/dhcpd.conf line 4: expecting semicolon.\n"
        "dhcpd: Configuration file errors encountered -- exiting\n",
    )


@pytest.mark.parametrize(
    ("conf", "errors"),
    [
        (
            'switch "lan" { interface bridge0 }\nvm "web01" {\n\tmemory 1G\n'
            '\tinterface { switch "lan"; lladdr 02:00:00:00:01:01 }\n}\n',
            ["/etc/vm.conf:4: syntax error"],
        ),
        (
            'vm "web01" {\n\tmemory 512\n\tdisk "/var/vmm/web01.qcow2"\n}\n',
            [
                "vmd: size must be at least one megabyte",
                "/etc/vm.conf:2: failed to parse size: 512",
            ],
        ),
        (
            'vm "web01" {\n\tmemory 1G\n\tdisk "/var/vmm/nope.qcow2" format qcow2\n}\n',
            [
                "vmd: disk /var/vmm/nope.qcow2: No such file or directory",
                "/etc/vm.conf:3: failed to parse disks: /var/vmm/nope.qcow2",
            ],
        ),
        ('switch "lan" {\n\tinterface em0\n}\n', ["/etc/vm.conf:2: invalid switch interface: em0"]),
        (
            'switch "lan" {\n\tgroup vms\n}\n',
            ['/etc/vm.conf:1: switch "lan" is missing interface name'],
        ),
        ('vm "web01" {\n\tmemory 1G\n\tcpus 2\n}\n', ["/etc/vm.conf:3: syntax error"]),
        ('vm "web01" {\n\tmemory 1G;\n}\n', ["/etc/vm.conf:2: syntax error"]),
        ('vm "web01" {\n\tmemory 1G\n', ["/etc/vm.conf:2: syntax error"]),
    ],
)
def test_vmd_n_rejects_bad_vm_conf(
    make_host: Callable[..., Host], conf: str, errors: list[str]
) -> None:
    host = make_host("openbsd")
    host.write("/var/vmm/web01.qcow2", "")
    host.write("/etc/vm.conf", conf)
    assert host.run("vmd -n") == Result(1, "", "\n".join(errors) + "\n")


def test_vmd_and_vmctl_run_scenario_b(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", "-x", "em1", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
    scenario_b_interfaces(host)
    host.write("/etc/vm.conf", VM_CONF)
    assert host.run("vmctl status") == Result(
        1, "", "vmctl: connect: /var/run/vmd.sock: No such file or directory\n"
    )
    assert host.run("vmd -n").rc == 1
    host.path("/var/vmm").mkdir()
    res = host.run(
        "vmctl create -s 20G /var/vmm/web01.qcow2 && vmctl create -s 40G /var/vmm/db01.qcow2"
    )
    assert res.err == "vmctl: qcow2 imagefile created\n" * 2
    assert host.run("vmctl create -s 1G /var/vmm/web01.qcow2").err == (
        "vmctl: create imagefile operation failed: File exists\n"
    )
    assert host.run("vmd -n") == Result(0, "", "configuration OK\n")
    # The bridges must exist before vmd starts: without them vmd dies.
    host.ok("rcctl enable vmd")
    assert host.run("rcctl start vmd") == Result(1, "vmd(failed)\n", "")
    host.ok("sh $LAB_ROOT/etc/netstart em1 bridge0 vether0 bridge1")
    assert host.ok("rcctl start vmd") == "vmd(ok)\n"
    assert host.ok("vmctl status") == (
        "   ID   PID VCPUS  MAXMEM  CURMEM     TTY        OWNER    STATE NAME\n"
        "    1 47001     1    1.0G    1.0G   ttyp0         root  running web01\n"
        "    2 47002     1    2.0G    2.0G   ttyp1         root  running db01\n"
    )
    bridge0 = host.ok("ifconfig bridge0")
    assert "\tdescription: switch1-lan\n" in bridge0
    assert "\ttap0 flags=3<LEARNING,DISCOVER>\n" in bridge0
    assert "\tdescription: switch2-isolated\n" in host.ok("ifconfig bridge1")
    assert "\tdescription: vm1-if0-web01\n\tindex" in host.ok("ifconfig tap0")
    tap1 = host.ok("ifconfig tap1")
    assert "\tdescription: vm2-if0-db01\n" in tap1
    assert "\tgroups: tap\n" in tap1
    # Stopping removes the taps; a start allocates them again.
    assert host.run("vmctl stop -w web01").err == "stopping vm web01: terminated vm 1\n"
    assert host.run("ifconfig tap0").rc == 1
    assert "tap0" not in host.ok("ifconfig bridge0")
    assert host.ok("vmctl status web01").splitlines()[1] == (
        "    1     -     1    1.0G       -       -         root  stopped web01"
    )
    assert (
        host.run("vmctl stop web01").err
        == "stopping vm web01: cannot stop vm that is not running\n"
    )
    assert host.run("vmctl start web01").err == "vmctl: started vm 1 successfully, tty /dev/ttyp0\n"
    assert "tap0" in host.ok("ifconfig bridge0")
    # reload: running VMs keep their config; a new VM gets the next id and a free tap.
    host.write(
        "/etc/vm.conf",
        VM_CONF + 'vm "test01" {\n\tmemory 512M\n\tdisk "/var/vmm/web01.qcow2"\n'
        '\tinterface { switch "lan" }\n}\n',
    )
    host.ok("vmctl reload")
    assert host.ok("vmctl status -r").splitlines()[1:] == [
        "    1 47001     1    1.0G    1.0G   ttyp0         root  running web01",
        "    2 47002     1    2.0G    2.0G   ttyp1         root  running db01",
        "    3 47003     1    512M    512M   ttyp2         root  running test01",
    ]
    assert "\tdescription: vm3-if0-test01\n" in host.ok("ifconfig tap2")
    assert host.ok("rcctl stop vmd") == "vmd(ok)\n"
    assert host.run("ifconfig tap1").rc == 1


# ---- FreeBSD ----------------------------------------------------------------------------------


def test_sysrc_queries_checks_and_edits(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    assert host.ok("sysrc -n defaultrouter") == "192.0.2.1\n"
    assert host.ok("sysrc defaultrouter") == "defaultrouter: 192.0.2.1\n"
    assert host.ok("sysrc -n ipv6_defaultrouter") == "NO\n"
    assert host.run("sysrc -n nosuch_var") == Result(
        1, "", "sysrc: unknown variable 'nosuch_var'\n"
    )
    assert host.run("sysrc -c defaultrouter=192.0.2.1") == Result(0, "", "")
    assert host.run("sysrc -c defaultrouter=198.51.100.1") == Result(1, "", "")
    assert host.ok('sysrc ifconfig_vtnet0_alias0="inet 192.0.2.20/32"') == (
        "ifconfig_vtnet0_alias0:  -> inet 192.0.2.20/32\n"
    )
    assert host.ok('sysrc cloned_interfaces+=" tap0" cloned_interfaces+=bridge0') == (
        "cloned_interfaces:  -> tap0\ncloned_interfaces: tap0 -> tap0 bridge0\n"
    )
    assert (
        host.ok("sysrc cloned_interfaces-=tap0") == "cloned_interfaces: tap0 bridge0 -> bridge0\n"
    )
    host.ok("sysrc -x cloned_interfaces")
    assert host.ok("sysrc -n cloned_interfaces") == "\n"
    host.ok("sysrc -f /etc/rc.conf.d/routing defaultrouter=198.51.100.1")
    assert host.path("/etc/rc.conf.d/routing").read_text() == 'defaultrouter="198.51.100.1"\n'
    assert host.ok("sysrc -f /etc/rc.conf.d/routing -n defaultrouter") == "198.51.100.1\n"
    rc_conf = host.path("/etc/rc.conf").read_text()
    assert 'ifconfig_vtnet0_alias0="inet 192.0.2.20/32"\n' in rc_conf
    assert "cloned_interfaces" not in rc_conf
    host.ok("sh -n $LAB_ROOT/etc/rc.conf")


SCENARIO_A_FBSD = (
    'ifconfig_vtnet0="inet 203.0.113.10 netmask 255.255.255.255" static_routes="gw" '
    'route_gw="-host 198.51.100.1 -interface vtnet0" defaultrouter="198.51.100.1"'
)


def test_freebsd_scenario_a_restart(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", *failover("freebsd"))
    host.ok(f"sysrc {SCENARIO_A_FBSD} >/dev/null")
    host.write("/var/lab/mgmt", "vtnet0 203.0.113.10\n")
    assert not host.reachable()
    out = host.ok("nohup sh -c 'service netif restart vtnet0 && service routing restart' 2>&1")
    assert out.startswith("Stopping Network: vtnet0.\nStarting Network: vtnet0.\nvtnet0: flags=")
    assert "add host 198.51.100.1: gateway vtnet0\nadd net default: gateway 198.51.100.1\n" in out
    assert "\tinet 203.0.113.10 netmask 0xffffffff broadcast 203.0.113.10\n" in host.ok(
        "ifconfig vtnet0"
    )
    table = host.ok("netstat -rn -f inet")
    assert "default            198.51.100.1       UGS          vtnet0\n" in table
    assert "198.51.100.1       link#1             UHS          vtnet0\n" in table
    assert "gateway:" not in host.ok("route -n get 198.51.100.1")
    assert host.reachable()
    # netif restart alone drops the default route with the address it hung on.
    host.ok("service netif restart vtnet0 >/dev/null")
    assert not host.reachable()
    host.ok("service routing start >/dev/null 2>&1")
    assert host.reachable()
    ran = host.calls()
    assert ran.index(
        ["/sbin/route", "add", "-host", "198.51.100.1", "-interface", "vtnet0"]
    ) < ran.index(["/sbin/route", "add", "-inet", "default", "198.51.100.1"])


def test_freebsd_static_routes_in_the_wrong_order_fail(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd", *failover("freebsd"))
    host.ok(
        'sysrc ifconfig_vtnet0="inet 203.0.113.10/32" static_routes="net2 net1" '
        'route_net1="-net 198.51.100.1/32 -interface vtnet0" route_net2="default 198.51.100.1" '
        "defaultrouter=NO >/dev/null"
    )
    host.write("/var/lab/mgmt", "vtnet0 203.0.113.10\n")
    res = host.run("service netif restart vtnet0 >/dev/null && service routing restart")
    assert UNREACHABLE in res.err
    assert "add net default: gateway 198.51.100.1 fib 0: Network is unreachable\n" in res.out
    assert not host.reachable()
    host.ok('sysrc static_routes="net1 net2" >/dev/null; service routing restart >/dev/null 2>&1')
    assert host.reachable()


def test_freebsd_netif_aliases_ipv6_and_cloned_interfaces(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.ok(
        'sysrc ifconfig_vtnet0_alias1="inet 192.0.2.21/32" ifconfig_vtnet0_alias0="192.0.2.20/32" '
        'ifconfig_vtnet0_ipv6="inet6 2001:db8:100::10 prefixlen 64" '
        'ifconfig_vtnet0_descr="uplink to the provider" cloned_interfaces="bridge0 tap0" '
        'ifconfig_bridge0="addm vtnet0 addm tap0 up" vlans_vtnet0=10 '
        'ifconfig_vtnet0_10="inet 10.10.0.1/24" >/dev/null'
    )
    res = host.run("service netif restart")
    assert res.rc == 0
    assert 'ifconfig_vtnet0_alias0 needs leading "inet" keyword' in res.err
    assert res.out.startswith(
        "Stopping Network: lo0 vtnet0.\nStarting Network: lo0 vtnet0 bridge0 tap0.\n"
    )
    vtnet0 = host.ok("ifconfig vtnet0")
    assert "\tdescription: uplink to the provider\n" in vtnet0
    assert vtnet0.index("192.0.2.20") < vtnet0.index("192.0.2.21")
    assert "\tinet6 2001:db8:100::10 prefixlen 64\n" in vtnet0
    assert "\tmember: tap0 " in host.ok("ifconfig bridge0")
    assert "\tinet 10.10.0.1 netmask 0xffffff00 broadcast 10.10.0.255\n" in host.ok(
        "ifconfig vtnet0.10"
    )
    host.ok("service netif stop bridge0")
    assert host.run("ifconfig bridge0").rc == 1
    assert host.run("service nosuch start").rc == 1


# ---- NetBSD -------------------------------------------------------------------------------------


def test_netbsd_defaultroute_runs_before_netstart_local(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd", *failover("netbsd"))
    host.write("/etc/ifconfig.vioif0", "inet 203.0.113.11 netmask 255.255.255.255\n")
    host.write(
        "/etc/netstart.local",
        '#!/bin/sh\ncase "$1" in\nstart)\n'
        "\t/sbin/route -q add -host 198.51.100.1 -iface 203.0.113.11\n\t;;\n"
        "stop)\n\t/sbin/route -q delete -host 198.51.100.1\n\t;;\nesac\n",
    )
    host.write("/var/lab/mgmt", "vioif0 203.0.113.11\n")
    res = host.run("service network restart")
    assert res.out == (
        "Stopping network.\n"
        "Configuring network interfaces: vioif0.\n"
        "add net default: gateway 198.51.100.1: Network is unreachable\n"
    )
    assert res.err == UNREACHABLE + "\n"
    assert "198.51.100.1       203.0.113.11       UHS" in host.ok("netstat -rn -f inet")
    assert not host.reachable()
    ran = host.calls()
    assert ran.index(["/sbin/route", "add", "default", "198.51.100.1"]) < ran.index(
        ["/sbin/route", "-q", "add", "-host", "198.51.100.1", "-iface", "203.0.113.11"]
    )
    # Scenario (a.2): the host route in a `!` line of ifconfig.vioif0 comes first.
    host.write(
        "/etc/ifconfig.vioif0",
        "inet 203.0.113.11 netmask 255.255.255.255\n"
        "!/sbin/route -q add -host 198.51.100.1 -iface $int\n",
    )
    host.path("/etc/netstart.local").unlink()
    assert host.ok("sh $LAB_ROOT/etc/rc.d/network restart").endswith(
        "add net default: gateway 198.51.100.1\n"
    )
    assert "\tinet 203.0.113.11/32 broadcast 203.0.113.11 flags 0\n" in host.ok("ifconfig vioif0")
    got = host.ok("route -n get default")
    assert " local addr: 203.0.113.11\n  interface: vioif0\n" in got
    assert host.reachable()


def test_netbsd_rc_conf_ifconfig_variable_wins(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd")
    host.write(
        "/etc/rc.conf",
        host.path("/etc/rc.conf").read_text()
        + 'ifconfig_vioif0="inet 192.0.2.10 netmask 255.255.255.0; '
        'inet 192.0.2.30 netmask 255.255.255.255 alias; !echo via $int"\n',
    )
    host.write("/etc/ifconfig.vioif0", "inet 192.0.2.99 netmask 255.255.255.0\n")
    host.write("/etc/ifconfig.bridge0", "create\n!brconfig $int add vioif0 up\n")
    assert "Configuring network interfaces: vioif0 bridge0.\n" in host.ok("service network restart")
    shown = host.ok("ifconfig vioif0")
    assert "192.0.2.30/32" in shown
    assert "192.0.2.99" not in shown
    assert "\t\tvioif0 flags=3<LEARNING,DISCOVER>\n" in host.ok("brconfig bridge0")
    assert ["/sbin/brconfig", "bridge0", "add", "vioif0", "up"] in host.calls()
    host.write("/etc/rc.conf", "hostname=x\n")
    res = host.run("service network start")
    assert (res.rc, res.err) == (1, "/etc/rc.conf is not configured.  Multiuser boot aborted.\n")


# ---- shellcheck -----------------------------------------------------------------------------


def test_every_fake_is_shellcheck_clean() -> None:
    _need("shellcheck")
    scripts = sorted(
        str(p)
        for p in FAKES.rglob("*")
        if p.is_file() and (p.suffix == ".sh" or p.read_bytes().startswith(b"#!/bin/sh"))
    )
    assert len(scripts) > 20
    proc = subprocess.run(["shellcheck", "-s", "sh", *scripts], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_state_runs_with_the_machine_awk(tmp_path: Path) -> None:
    """The lab machinery runs init-state.sh outside the chroot, with the host's own tools."""
    root = tmp_path / "root"
    _build_root(root, "openbsd", ["/bin/sh"])
    env = {"LAB_ROOT": str(root), "PATH": "/usr/bin:/bin"}
    init = subprocess.run(
        ["/bin/sh", str(FAKES / "init-state.sh"), "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert init.returncode == 0, init.stderr
    shown = subprocess.run(
        ["/bin/sh", "-c", f"{root}/usr/bin/netstat -rn -f inet"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert shown.stdout.split("\n")[:-1] == NETSTAT["openbsd"]


# ---- OpenBSD: the vmd hypervisor flow (issue 5) ------------------------------------------------

PF_MAIN_INCLUDING = """\
set skip on lo
block return
pass out on egress
include "/etc/pf.bsdprov.conf"
"""
PF_MANAGED = """\
# managed by bsdprov
pass on web01_vm
anchor "vm/*"
load anchor "vm/web01" from "/etc/pf.vm/web01.conf"
"""
WEB01_GROUP = """\
pass out quick on web01_vm inet proto tcp to port { 80 443 }
block quick on web01_vm
"""


def test_pfctl_follows_include_and_loads_group_anchors(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.write("/etc/pf.conf", PF_MAIN_INCLUDING, 0o600)
    host.write("/etc/pf.bsdprov.conf", PF_MANAGED, 0o600)
    host.write("/etc/pf.vm/web01.conf", WEB01_GROUP, 0o600)
    assert host.run("pfctl -nf /etc/pf.conf") == Result(0, "", "")
    assert host.run("pfctl -a vm/web01 -nf /etc/pf.vm/web01.conf") == Result(0, "", "")
    host.ok("pfctl -f /etc/pf.conf")
    assert host.ok("pfctl -sr") == (
        "block return all\n"
        "pass out on egress all flags S/SA\n"
        "pass on web01_vm all flags S/SA\n"
        'anchor "vm/*" all\n'
    )
    assert host.ok("pfctl -a vm/web01 -sr") == (
        "pass out quick on web01_vm inet proto tcp from any to any port = 80 flags S/SA\n"
        "pass out quick on web01_vm inet proto tcp from any to any port = 443 flags S/SA\n"
        "block quick on web01_vm all\n"
    )
    # Flushing an anchor empties it and pf forgets it; an unknown anchor flushes quietly.
    assert host.run("pfctl -a vm/web01 -F rules") == Result(0, "", "rules cleared\n")
    assert host.ok("pfctl -a vm/web01 -sr") == ""
    assert host.ok("pfctl -vsA") == "  vm\n"
    assert host.run("pfctl -a vm/old -F rules") == Result(0, "", "rules cleared\n")
    assert host.ok("pfctl -sr").endswith('anchor "vm/*" all\n')
    # Errors name the file they are in; a missing include fails the including line.
    host.write("/etc/pf.bsdprov.conf", "pass on web01_vm\npas out\n", 0o600)
    assert host.run("pfctl -nf /etc/pf.conf") == Result(
        1, "", "/etc/pf.bsdprov.conf:2: syntax error\n"
    )
    host.path("/etc/pf.bsdprov.conf").unlink()
    res = host.run("pfctl -f /etc/pf.conf")
    assert res.rc == 1
    assert res.err == (
        "pfctl: /etc/pf.bsdprov.conf: No such file or directory\n"
        "/etc/pf.conf:4: failed to include file /etc/pf.bsdprov.conf\n"
        "pfctl: Syntax error in config file: pf rules not loaded\n"
    )
    # An empty included file is fine (and so is an empty pf.conf).
    host.write("/etc/pf.bsdprov.conf", "", 0o600)
    host.ok("pfctl -f /etc/pf.conf")
    assert host.ok("pfctl -sr") == "block return all\npass out on egress all flags S/SA\n"


def test_ifconfig_shows_interface_groups(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.ok("ifconfig tap0 create up && ifconfig tap1 create up && ifconfig tap0 group web01_vm")
    tap0 = host.ok("ifconfig tap0")
    assert "\tgroups: tap web01_vm\n" in tap0
    # A name without a unit is a group: ifconfig prints each member, as for one interface.
    assert host.ok("ifconfig web01_vm") == tap0
    assert host.ok("ifconfig tap") == tap0 + host.ok("ifconfig tap1")
    assert host.ok("ifconfig egress").startswith("vio0: flags=")
    assert host.run("ifconfig db01_vm") == Result(1, "", "ifconfig: db01_vm: no such interface\n")
    assert host.run("ifconfig tap1 group web01") == Result(
        1, "", "ifconfig: setifgroup: group names may not end in a digit\n"
    )
    host.ok("ifconfig tap0 -group web01_vm")
    assert "\tgroups: tap\n" in host.ok("ifconfig tap0")
    assert host.run("ifconfig web01_vm").rc == 1


VM_CONF_GROUPS = """\
switch "lan" {
\tinterface bridge0
}

switch "isolated" {
\tinterface bridge1
}

vm "web01" {
\tmemory 1G
\tdisk "/var/vmm/web01.qcow2"
\tinterface {
\t\tswitch "lan"
\t\tgroup "web01_vm"
\t\tlocked lladdr 02:00:00:00:01:01
\t}
}

vm "db01" {
\tmemory 2G
\tdisk "/var/vmm/db01.qcow2"
\tinterface { switch "isolated" group "db01_vm" lladdr 02:00:00:00:01:02 }
}
"""
TEST01 = (
    'vm "test01" {\n\tdisk "/var/vmm/web01.qcow2"\n'
    '\tinterface { switch "lan" group "test01_vm" }\n}\n'
)


def test_vmd_runs_unpinned_vms_in_their_groups(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd", "-x", "em1", "openbsd", "vio0", "192.0.2.10/24", "192.0.2.1")
    scenario_b_interfaces(host)
    host.write("/etc/vm.conf", VM_CONF_GROUPS)
    host.write("/etc/dhcpd.conf", DHCPD_CONF)
    # As bsdprov writes it: sh assignments, quoted or not.
    host.write("/etc/rc.conf.local", 'dhcpd_flags="vether0"\nvmd_flags=""\n')
    host.path("/var/vmm").mkdir()
    host.ok(
        "vmctl create -s 20G /var/vmm/web01.qcow2 2>&1; vmctl create -s 40G /var/vmm/db01.qcow2"
    )
    assert host.run("vmd -n") == Result(0, "", "configuration OK\n")
    # Without its bridges vmd dies, saying why (rcctl leaves the reason to the daemon log).
    assert host.run("vmd") == Result(1, "", 'vmd: bridge "bridge0" does not exist\n')
    assert host.run("rcctl start vmd") == Result(1, "vmd(failed)\n", "")
    assert 'vmd: bridge "bridge0" does not exist\n' in host.path("/var/log/daemon").read_text()
    host.ok("sh $LAB_ROOT/etc/netstart em1 bridge0 vether0 bridge1")
    assert host.ok("rcctl start vmd") == "vmd(ok)\n"
    assert host.ok("rcctl check vmd") == "vmd(ok)\n"
    assert host.ok("rcctl restart dhcpd") == "dhcpd(ok)\n"
    assert host.ok("rcctl check dhcpd") == "dhcpd(ok)\n"
    web01 = host.ok("ifconfig web01_vm")
    assert web01.startswith("tap0: flags=8843<UP,")
    assert "\tdescription: vm1-if0-web01\n" in web01
    assert "\tgroups: tap web01_vm\n" in web01
    assert host.ok("ifconfig db01_vm").startswith("tap1: ")
    bridge0 = host.ok("ifconfig bridge0")
    assert "\ttap0 flags=3<LEARNING,DISCOVER>\n" in bridge0
    assert "\tem1 flags=3<LEARNING,DISCOVER>\n" in bridge0
    # reload starts a VM new to vm.conf and leaves the running ones as they are.
    host.write("/etc/vm.conf", VM_CONF_GROUPS + TEST01)
    host.ok("vmctl reload")
    assert [line.split()[-2:] for line in host.ok("vmctl status").splitlines()[1:]] == [
        ["running", "web01"],
        ["running", "db01"],
        ["running", "test01"],
    ]
    assert host.ok("ifconfig test01_vm").startswith("tap2: ")
    # A VM dropped from vm.conf runs on after a reload; once stopped, vmd forgets it.
    host.write("/etc/vm.conf", VM_CONF_GROUPS)
    host.ok("vmctl reload")
    assert "test01" in host.ok("vmctl status")
    assert host.run("vmctl stop -w test01").err == "stopping vm test01: terminated vm 3\n"
    assert "test01" not in host.ok("vmctl status")
    assert host.run("ifconfig test01_vm").rc == 1
    assert "tap2" not in host.ok("ifconfig bridge0")
    # A stopped VM that vm.conf still defines stays, and a reload starts it again.
    host.ok("vmctl stop -w web01")
    assert host.ok("vmctl status web01").split()[-2:] == ["stopped", "web01"]
    host.ok("vmctl reload")
    assert host.ok("vmctl status web01").split()[-2:] == ["running", "web01"]


def test_dhcpd_needs_an_address_in_a_declared_subnet(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    host.write("/etc/dhcpd.conf", DHCPD_CONF)
    host.write("/etc/rc.conf.local", 'dhcpd_flags="vether0"\n')
    host.ok("ifconfig vether0 create; ifconfig vether0 inet 10.60.0.1/24")
    assert host.run("dhcpd -n") == Result(0, "", "")
    assert host.run("rcctl start dhcpd") == Result(1, "dhcpd(failed)\n", "")
    assert host.run("dhcpd vether0") == Result(
        1,
        "",
        "dhcpd: No subnet declaration for vether0 (10.60.0.1).\n"
        "dhcpd: No interfaces to listen on.\n",
    )
    host.ok("ifconfig vether0 inet 10.50.0.1/24")
    assert host.ok("rcctl start dhcpd") == "dhcpd(ok)\n"
    assert host.ok("rcctl get dhcpd flags") == "vether0\n"


def test_sysctl_apply_sets_forwarding_from_sysctl_conf(make_host: Callable[..., Host]) -> None:
    host = make_host("openbsd")
    apply = Path(__file__).parents[2] / "bsdprov/remote/lib/sysctl-apply"
    host.write("/etc/sysctl.conf", "# routing for the VMs\nnet.inet.ip.forwarding=1\n")
    assert host.ok(f"BSDPROV_ROOT=$LAB_ROOT sh {apply} net.inet.ip.forwarding=0") == (
        "net.inet.ip.forwarding: 0 -> 1\n"
    )
    assert host.ok("sysctl net.inet.ip.forwarding") == "net.inet.ip.forwarding=1\n"
    assert host.ok("sysctl -n net.inet.ip.forwarding") == "1\n"
    # A rollback restores the old file (no line): the default comes back.
    host.path("/etc/sysctl.conf").unlink()
    host.ok(f"BSDPROV_ROOT=$LAB_ROOT sh {apply} net.inet.ip.forwarding=0")
    assert host.ok("sysctl net.inet.ip.forwarding") == "net.inet.ip.forwarding=0\n"
