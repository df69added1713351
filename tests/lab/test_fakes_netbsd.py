"""NetBSD on the lab's fakes: netbsd-ifup, rc.d/network at boot, brconfig, dhcpcd (issue 10, 11).

Runs under dash, busybox ash and mksh with the harness of ``test_fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.lab import test_fakes as harness

Host = harness.Host
Result = harness.Result
# The harness's fixtures, registered here for pytest (dash, busybox ash, mksh).
shell = harness.shell
_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host

IFUP = Path(__file__).parents[2] / "bsdprov/remote/lib/netbsd-ifup"


def ifup(host: Host, name: str) -> str:
    return host.ok(f"BSDPROV_ROOT=$LAB_ROOT sh {IFUP} {name}")


def default_gateway(host: Host) -> str | None:
    res = host.run("route -n get default")
    if res.rc != 0:
        return None
    return next(line.split()[1] for line in res.out.splitlines() if "gateway:" in line)


def test_ifup_without_routes_keeps_the_default_route(make_host: Callable[..., Host]) -> None:
    """Issue 11.3: re-applying the address that carries the default route must not lose it."""
    host = make_host("netbsd")
    host.write(
        "/etc/ifconfig.vioif0",
        "inet 192.0.2.10 netmask 255.255.255.0\ninet 192.0.2.11 netmask 255.255.255.255 alias\n",
    )
    ifup(host, "vioif0")
    assert default_gateway(host) == "192.0.2.1"
    assert host.reachable()
    shown = host.ok("ifconfig vioif0")
    assert "inet 192.0.2.10/24" in shown and "inet 192.0.2.11/32" in shown


def test_ifup_drops_an_alias_the_file_no_longer_sets(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd")
    host.ok("ifconfig vioif0 inet 192.0.2.11 netmask 255.255.255.255 alias")
    host.write("/etc/ifconfig.vioif0", "inet 192.0.2.10 netmask 255.255.255.0\n")
    ifup(host, "vioif0")
    shown = host.ok("ifconfig vioif0")
    assert "192.0.2.11" not in shown and "inet 192.0.2.10/24" in shown
    assert default_gateway(host) == "192.0.2.1"


def test_ifup_puts_back_a_default_route_its_new_address_still_reaches(
    make_host: Callable[..., Host],
) -> None:
    """The primary address changes: the old one goes, and the default comes back through the
    new one, as a host without ``routes:`` never has its routes managed."""
    host = make_host("netbsd")
    host.write("/etc/ifconfig.vioif0", "inet 192.0.2.20 netmask 255.255.255.0\n")
    ifup(host, "vioif0")
    shown = host.ok("ifconfig vioif0")
    assert "192.0.2.10" not in shown and "inet 192.0.2.20/24" in shown
    assert default_gateway(host) == "192.0.2.1"


# ---- rc.d/network at boot: a bridge with a vlan member, whatever `ifconfig -C` order -------

BRIDGED_VLAN = """
hosts:
  nb:
    os: netbsd
    interfaces:
      vioif0: {addresses: [192.0.2.10/24]}
      wm1: {up: true}
      vlan10: {parent: wm1, vlan: 10}
      bridge0: {members: [vlan10]}
    routes: [{to: default, via: 192.0.2.1}]
"""


def install_rendered(host: Host, text: str) -> None:
    from bsdprov.inventory import parse_inventory
    from bsdprov.render import file_content, render_host

    rendered = render_host(parse_inventory(text, "inventory.yaml").hosts["nb"])
    for spec in rendered.files:
        current = host.path(spec.path)
        before = current.read_text() if current.exists() else None
        host.write(spec.path, file_content(spec, before))


def boot_network(host: Host) -> Result:
    return host.run("sh $LAB_ROOT/etc/rc.d/network start")


def test_a_bridge_gets_its_vlan_member_at_boot_though_its_file_runs_first(
    make_host: Callable[..., Host],
) -> None:
    """Issue 10 case 7: `ifconfig -C` lists bridge before vlan here, so ifconfig.bridge0 runs
    before ifconfig.vlan10; brconfig add of an unconfigured vlan fails (bridge_ioctl_add)."""
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    assert host.ok("ifconfig -C").index("bridge") < host.ok("ifconfig -C").index("vlan")
    install_rendered(host, BRIDGED_VLAN)
    booted = boot_network(host)
    assert booted.rc == 0, booted.err
    assert "\t\tvlan10 flags=3<LEARNING,DISCOVER>\n" in host.ok("brconfig bridge0")
    assert "\tvlan: 10 parent: wm1\n" in host.ok("ifconfig vlan10")
    assert "Device busy" not in booted.err and "Invalid argument" not in booted.err


def test_brconfig_adds_only_what_bridge_ioctl_add_takes(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    host.ok("ifconfig bridge0 create && ifconfig bridge1 create && ifconfig vlan10 create")
    assert host.run("brconfig bridge0 add vlan10").err == (
        "brconfig: add vlan10: Invalid argument\n"
    )
    assert host.run("brconfig bridge0 add tap0").err == (
        "brconfig: add tap0: No such file or directory\n"
    )
    host.ok("ifconfig vlan10 vlan 10 vlanif wm1")
    host.ok("brconfig bridge0 add vlan10")
    assert host.run("brconfig bridge0 add vlan10").err == "brconfig: add vlan10: File exists\n"
    assert host.run("brconfig bridge1 add vlan10").err == "brconfig: add vlan10: Device busy\n"
    host.ok("ifconfig gif0 create")
    assert host.run("brconfig bridge0 add gif0").err == "brconfig: add gif0: Invalid argument\n"
    assert host.run("brconfig bridge0 blocknonip wm1").err == (
        "brconfig: unknown command: blocknonip\n"
    )
    assert host.run("brconfig vlan10 add wm1").err == "brconfig: vlan10 is not a bridge\n"


# ---- NetBSD's own ifconfig and route grammar -----------------------------------------------


def test_ifconfig_refuses_other_systems_words(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd")
    for args, message in [
        ("vioif0 lladdr 02:00:00:aa:bb:10", "ifconfig: lladdr: bad value"),
        ("vioif0 -inet", "ifconfig: -inet: bad value"),
        ("vioif0 inet6 autoconf", "ifconfig: autoconf: bad value"),
        ("vioif0 mtu 1400 inet 192.0.2.30", "ifconfig: inet: bad value"),
        ("vioif0 vlan 10 vlanif wm1", "ifconfig: valid only with vlan(4) interfaces"),
        ("vioif0 group uplink", "ifconfig: group: bad value"),
    ]:
        res = host.run(f"ifconfig {args}")
        assert (res.rc, res.err) == (1, f"{message}\n"), args
    host.ok("ifconfig vioif0 link 02:00:00:aa:bb:10 active")
    assert "address: 02:00:00:aa:bb:10" in host.ok("ifconfig vioif0")


def test_ifconfig_refuses_a_second_vlan_parent(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    host.ok("ifconfig vlan10 create && ifconfig vlan10 vlan 10 vlanif wm1")
    assert host.run("ifconfig vlan10 vlan 10 vlanif wm1").err == (
        "ifconfig: SIOCSETVLAN: Device busy\n"
    )


def test_description_is_a_netbsd_10_word(make_host: Callable[..., Host]) -> None:
    nine = make_host("netbsd", "-r", "9.3", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    assert nine.run('ifconfig vioif0 description "uplink"').err == (
        "ifconfig: description: bad value\n"
    )
    ten = make_host("netbsd")
    ten.ok('ifconfig vioif0 description "uplink"')


def test_route_refuses_other_systems_words(make_host: Callable[..., Host]) -> None:
    host = make_host("netbsd")
    assert host.run("route -q add -host 192.0.2.50 -iface vioif0").err == (
        "route: vioif0: bad value\n"
    )
    assert host.run("route -4 -q add -host 192.0.2.50 192.0.2.1").err.startswith(
        "route: illegal option -- 4\n"
    )
    assert host.run("route -q add default 192.0.2.1 -priority 8").err == (
        "route: -priority: unknown modifier\n"
    )
    host.ok("route -q add -host 192.0.2.50 -iface 192.0.2.10")


# ---- dhcpcd=YES: the interfaces bsdprov configures are its own at boot and at activation ----

STATIC = """
hosts:
  nb:
    os: netbsd
    interfaces:
      vioif0: {addresses: [192.0.2.10/24]}
    routes: [{to: default, via: 192.0.2.1}]
"""


def dhcpcd_takes(host: Host, name: str) -> bool:
    return "autoconf inet" in host.path(f"/var/lab/state/if/{name}").read_text()


def test_dhcpcd_at_boot_leaves_the_static_interfaces_alone(make_host: Callable[..., Host]) -> None:
    """Issue 10 case 9: rc.d/dhcpcd starts one dhcpcd for every interface it is not denied."""
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    with host.path("/etc/rc.conf").open("a") as rc:
        rc.write("dhcpcd=YES\n")
    install_rendered(host, STATIC)
    host.ok("sh $LAB_ROOT/etc/rc.d/network start && sh $LAB_ROOT/etc/rc.d/dhcpcd start")
    assert not dhcpcd_takes(host, "vioif0")
    assert dhcpcd_takes(host, "wm1"), "an interface bsdprov does not configure stays dhcpcd's"
    assert host.reachable()


def test_activation_takes_a_static_interface_from_a_running_dhcpcd_and_rollback_gives_it_back(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("netbsd")
    with host.path("/etc/rc.conf").open("a") as rc:
        rc.write("dhcpcd=YES\n")
    host.ok("sh $LAB_ROOT/etc/rc.d/dhcpcd start")
    assert dhcpcd_takes(host, "vioif0")
    old_ifconfig = host.path("/etc/ifconfig.vioif0").read_text()
    install_rendered(host, STATIC)
    for step in ("release vioif0", "vioif0", "bind vioif0"):
        ifup(host, step)
    assert not dhcpcd_takes(host, "vioif0")
    # The rollback restores the old files and re-runs the same steps.
    host.path("/etc/dhcpcd.conf").unlink()
    host.write("/etc/ifconfig.vioif0", old_ifconfig)
    for step in ("release vioif0", "vioif0", "bind vioif0"):
        ifup(host, step)
    assert dhcpcd_takes(host, "vioif0")
    assert host.reachable()


def test_rc_d_network_runs_dhcpcd_for_a_dhcp_line_only_without_dhcpcd_yes(
    make_host: Callable[..., Host],
) -> None:
    """rc.d/network rev 1.74: `dhcp` runs `dhcpcd -n $dhcpcd_flags IF` unless dhcpcd=YES."""
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    host.write("/etc/ifconfig.wm1", "dhcp\n")
    host.ok("sh $LAB_ROOT/etc/rc.d/network start")
    assert dhcpcd_takes(host, "wm1") and not dhcpcd_takes(host, "vioif0")
    assert ["/sbin/dhcpcd", "-n", "wm1"] in host.calls()

    other = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    other.write("/etc/ifconfig.wm1", "dhcp\n")
    with other.path("/etc/rc.conf").open("a") as rc:
        rc.write("dhcpcd=YES\n")
    other.ok("sh $LAB_ROOT/etc/rc.d/network start")
    assert not dhcpcd_takes(other, "wm1"), "rc.d/dhcpcd, after rc.d/network, takes it"
    other.ok("sh $LAB_ROOT/etc/rc.d/dhcpcd start")
    assert dhcpcd_takes(other, "wm1")
