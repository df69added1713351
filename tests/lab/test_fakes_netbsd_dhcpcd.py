"""NetBSD dhcpcd as the real one reads dhcpcd.conf (review of issue 10 case 9).

- read_config (external/bsd/dhcpcd/dist/src/if-options.c) skips the lines of an
  ``interface``/``ssid``/``profile`` block when it reads the global options, and parse_option
  takes ``denyinterfaces`` only from those: a line after a block denies nothing.
- ``persistent`` (in NetBSD's shipped dhcpcd.conf): ``dhcpcd -x IF`` leaves the lease address
  and routes (ipv4_applyaddr/rt_build skip EXITING|PERSISTENT); ``dhcpcd -k IF`` clears
  persistent (dhcpcd_handleargs) and removes them.

Runs under dash, busybox ash and mksh with the harness of ``test_fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import test_fakes as harness
from tests.lab import test_fakes_netbsd as netbsd

Host = harness.Host
shell = harness.shell
_templates = harness._templates
_tools = harness._tools
make_host = harness.make_host

# NetBSD's /etc/dhcpcd.conf (external/bsd/dhcpcd/dist/src/dhcpcd.conf), abridged, plus the
# per-interface block an admin commonly adds.
SHIPPED = "hostname\nduid\npersistent\noption rapid_commit\nslaac private\n"
WITH_BLOCK = SHIPPED + "\ninterface wm1\n\tmetric 100\n"


def dhcpcd_yes(host: Host) -> None:
    with host.path("/etc/rc.conf").open("a") as rc:
        rc.write("dhcpcd=YES\n")


def boot(host: Host) -> None:
    host.ok("sh $LAB_ROOT/etc/rc.d/network start && sh $LAB_ROOT/etc/rc.d/dhcpcd start")


def test_the_fake_ignores_denyinterfaces_inside_a_block(make_host: Callable[..., Host]) -> None:
    """The spec: a denyinterfaces line after `interface wm1` denies nothing."""
    for conf, taken in (
        (WITH_BLOCK + "denyinterfaces vioif0\n", True),
        ("denyinterfaces vioif0\n" + WITH_BLOCK, False),
    ):
        host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
        dhcpcd_yes(host)
        host.write("/etc/dhcpcd.conf", conf)
        host.ok("sh $LAB_ROOT/etc/rc.d/dhcpcd start")
        assert netbsd.dhcpcd_takes(host, "vioif0") == taken, conf


def test_a_static_interface_stays_static_at_boot_beside_an_interface_block(
    make_host: Callable[..., Host],
) -> None:
    """The rendered denyinterfaces line must land where dhcpcd reads it: before the block."""
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    dhcpcd_yes(host)
    host.write("/etc/dhcpcd.conf", WITH_BLOCK)
    netbsd.install_rendered(host, netbsd.STATIC)
    boot(host)
    assert not netbsd.dhcpcd_takes(host, "vioif0")
    assert netbsd.dhcpcd_takes(host, "wm1")
    assert host.reachable()
    # netbsd-ifup reads the file as dhcpcd does: release acts on vioif0, bind skips it.
    netbsd.ifup(host, "bind vioif0")
    assert not netbsd.dhcpcd_takes(host, "vioif0")


def test_the_fake_keeps_a_persistent_lease_on_exit_and_drops_it_on_release(
    make_host: Callable[..., Host],
) -> None:
    host = make_host("netbsd")
    dhcpcd_yes(host)
    host.write("/etc/dhcpcd.conf", SHIPPED)
    host.ok("sh $LAB_ROOT/etc/rc.d/dhcpcd start")
    host.ok("dhcpcd -x vioif0")
    assert netbsd.dhcpcd_takes(host, "vioif0"), "-x with persistent leaves the lease"
    host.ok("dhcpcd -n vioif0")
    host.ok("dhcpcd -k vioif0")
    assert not netbsd.dhcpcd_takes(host, "vioif0")


def test_activation_takes_the_lease_back_under_the_shipped_dhcpcd_conf(
    make_host: Callable[..., Host],
) -> None:
    """With `persistent`, netbsd-ifup release must leave no lease address next to the static."""
    host = make_host("netbsd")
    dhcpcd_yes(host)
    host.write("/etc/dhcpcd.conf", SHIPPED)
    host.ok("sh $LAB_ROOT/etc/rc.d/dhcpcd start")
    assert netbsd.dhcpcd_takes(host, "vioif0")
    netbsd.install_rendered(host, netbsd.STATIC)
    for step in ("release vioif0", "vioif0", "bind vioif0"):
        netbsd.ifup(host, step)
    assert not netbsd.dhcpcd_takes(host, "vioif0")
    assert host.reachable()


def test_a_running_dhcpcd_rebinds_what_it_has_on_a_bare_reload(
    make_host: Callable[..., Host],
) -> None:
    """reconf_reboot with no interface named touches only the interfaces dhcpcd runs on: a
    newly denied one keeps its lease (release it with -k), a newly allowed one is not taken."""
    host = make_host("netbsd", "-x", "wm1", "netbsd", "vioif0", "192.0.2.10/24", "192.0.2.1")
    dhcpcd_yes(host)
    host.write("/etc/dhcpcd.conf", "denyinterfaces wm1\n")
    host.ok("sh $LAB_ROOT/etc/rc.d/dhcpcd start")
    host.write("/etc/dhcpcd.conf", "denyinterfaces vioif0\n")
    host.ok("dhcpcd -n")
    assert netbsd.dhcpcd_takes(host, "vioif0") and not netbsd.dhcpcd_takes(host, "wm1")
