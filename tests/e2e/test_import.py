"""``bsdprov import`` on lab hosts set up by hand: the files are written over SSH (not by
bsdprov) and activated as the OS does, the inventory entry is imported with ``--write``, and
``plan --detailed-exitcode`` then finds nothing to change (exit 0)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bsdprov.lab.pytest_plugin import RunningLab
from tests.command import bsdprov

pytestmark = pytest.mark.e2e


# What an admin's file has around its settings: a comment, a blank line (never bsdprov's
# header). A file that differs from bsdprov's only so is left as it is.
ADMIN = "# set up by hand, ticket 4711\n\n"


def by_hand(os: str, name: str, nic: str, address: str, gateway: str) -> tuple[dict[str, str], str]:
    """The files an admin writes for one static address and a default route, and the
    commands that activate them as the OS's rc scripts would."""
    itf = ipaddress.IPv4Interface(address)
    if os == "openbsd":
        return {
            # hostname.if(5)'s own example form: "inet 10.0.0.1 255.255.255.0"
            f"/etc/hostname.{nic}": f"{ADMIN}inet {itf.ip} {itf.netmask}\n  # uplink\n",
            "/etc/mygate": f"{ADMIN}{gateway}\n",
            "/etc/myname": f"{name}.example.org\n",
        }, f"chmod 0640 /etc/hostname.{nic} && sh /etc/netstart {nic}"
    if os == "freebsd":
        rc = (
            "# written by hand\n"
            f'hostname="{name}.example.org"\n'
            f'ifconfig_{nic}="inet {itf.ip} netmask {itf.netmask}"\n'
            f'ifconfig_{nic}_ipv6=""\n'  # no IPv6: ifconfig_DEFAULT never applies
            f'defaultrouter="{gateway}"\n'
            'sshd_enable="YES"\n'
        )
        return {"/etc/rc.conf": rc}, f"service netif restart {nic} && service routing restart"
    rc = (
        f'{ADMIN}rc_configured=YES\nhostname="{name}.example.org"\ndefaultroute="{gateway}"\n'
        "sshd=YES\n"
    )
    return {
        # ifconfig.if(5): one line of ifconfig(8) arguments, comments and blank lines allowed.
        f"/etc/ifconfig.{nic}": f"{ADMIN}inet {itf.ip} netmask {itf.netmask}\n",
        "/etc/rc.conf": rc,
        # dhcpcd(8) with dhcpcd=YES leaves an interface configured by hand alone.
        "/etc/dhcpcd.conf": f"denyinterfaces {nic}\n",
    }, f"hostname {name}.example.org"


@pytest.fixture
def restored(lab: RunningLab) -> Iterator[RunningLab]:
    """The session's lab, every host reset afterwards: later tests expect the lab's own
    host names and files."""
    try:
        yield lab
    finally:
        lab.reset()


@pytest.mark.parametrize("index", [0, 1, 2], ids=["openbsd", "freebsd", "netbsd"])
def test_import_of_a_host_set_up_by_hand_plans_no_change(
    restored: RunningLab, tmp_path: Path, index: int
) -> None:
    lab = restored
    name = lab.names[index]
    lab.reset(name)
    os = lab.os_of(name)
    data = yaml.safe_load(lab.inventory.read_text())
    entry = data["hosts"][name]
    ((nic, itf),) = entry["interfaces"].items()
    files, activate = by_hand(os, name, nic, itf["addresses"][0], entry["routes"][0]["via"])
    for path, text in files.items():
        lab.ssh(name, f"cat >{path}", input=text)
    lab.ssh(name, activate)

    # The inventory knows how to reach the host, nothing of its network.
    for key in ("interfaces", "routes"):
        del entry[key]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("# adopted hosts\n" + yaml.safe_dump(data, sort_keys=False))

    imported = bsdprov("import", "--host", name, "-i", str(inventory), "--write")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "not imported" not in imported.stdout, imported.stdout
    text = inventory.read_text()
    assert text.startswith("# adopted hosts\n"), "the file's comments are kept"
    assert f"{name}.example.org" in text

    assert "a first deploy" not in imported.stdout, imported.stdout
    assert "is a comment: a deploy rewrites" not in imported.stdout, imported.stdout

    plan = bsdprov("plan", "--host", name, "-i", str(inventory), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr + text
    assert "no changes" in plan.stdout
    for path, written in files.items():
        assert lab.ssh(name, f"cat {path}").stdout == written, f"{path} is the admin's still"


def test_an_unmodelled_line_leaves_its_interface_unmanaged(lab: RunningLab, tmp_path: Path) -> None:
    name = next(n for n in lab.names if lab.os_of(n) == "openbsd")
    lab.reset(name)
    lab.ssh(name, "cat >/etc/hostname.em2", input="media 100baseTX\nup\n")
    imported = bsdprov("import", "--host", name, "-i", str(lab.inventory))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert (
        "/etc/hostname.em2: line 1 'media 100baseTX' is not modelled: the host keeps it "
        "unmanaged" in imported.stdout
    )
    assert "em2" not in imported.stdout.split("hosts:", 1)[1]
