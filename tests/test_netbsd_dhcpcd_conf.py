"""dhcpcd.conf lines as dhcpcd reads them: denyinterfaces only counts before the first block
(read_config in dhcpcd's if-options.c skips a block's lines for the global options)."""

from __future__ import annotations

from bsdprov.inventory import parse_inventory
from bsdprov.render import LineEdit, file_content, render_host

HOST = """
hosts:
  nb:
    os: netbsd
    interfaces:
      wm0: {addresses: [192.0.2.10/24]}
      wm1: {dhcp: true}
"""


def dhcpcd_conf(before: str | None) -> str:
    rendered = render_host(parse_inventory(HOST, "inventory.yaml").hosts["nb"], "netbsd", "10.0")
    edit = next(f for f in rendered.files if f.path == "/etc/dhcpcd.conf")
    return file_content(edit, before)


def test_denyinterfaces_goes_before_the_first_interface_block() -> None:
    before = "hostname\npersistent\n\n# wm1 metric\ninterface wm1\n\tmetric 100\n"
    assert dhcpcd_conf(before) == (
        "hostname\npersistent\n\n# wm1 metric\ndenyinterfaces wm0\ninterface wm1\n\tmetric 100\n"
    )


def test_a_denyinterfaces_line_inside_a_block_moves_up() -> None:
    before = "hostname\nssid home\n\tdenyinterfaces wm0\nprofile x\n"
    assert dhcpcd_conf(before) == "hostname\ndenyinterfaces wm0\nssid home\nprofile x\n"


def test_without_a_block_the_line_is_kept_in_place_or_appended() -> None:
    assert dhcpcd_conf("denyinterfaces wm0\nhostname") == "denyinterfaces wm0\nhostname"
    assert dhcpcd_conf("hostname") == "hostname\ndenyinterfaces wm0\n"
    assert dhcpcd_conf(None) == "denyinterfaces wm0\n"


def test_sections_do_not_matter_to_other_line_edits() -> None:
    edit = LineEdit("/etc/sysctl.conf", ("a=1",), "=")
    assert file_content(edit, "interface x\na=0\n") == "interface x\na=1\n"
