"""``import`` of files an admin wrote: their comments and blank lines are read as the OS reads
them, and a file that differs from bsdprov's only so is left as it is."""

from __future__ import annotations

from bsdprov.adopt import import_host, public_entry

ADMIN = "# gw, set up by hand (ticket 4711)\n\n"


def test_a_comment_in_myname_is_not_the_host_name() -> None:
    # netstart: hostname "$(stripcom /etc/myname)"
    files = {
        "/etc/hostname.em0": f"{ADMIN}inet 192.0.2.10 255.255.255.0\n",
        "/etc/mygate": f"{ADMIN}192.0.2.1\n",
        "/etc/myname": f"{ADMIN}gw.example.org\n",
    }
    imported = import_host("gw", "openbsd", "7.6", files)
    assert public_entry(imported)["hostname"] == "gw.example.org"
    assert [str(n) for n in imported.notes] == []
    assert imported.rewrites == tuple(
        f"{path} differs only in comments: left as is" for path in files
    )


def test_a_crlf_file_is_rewritten_not_kept() -> None:
    # netstart splits words on space, tab and newline: a CR sticks to the netmask.
    files = {"/etc/hostname.em0": "inet 192.0.2.10 255.255.255.0\r\n"}
    imported = import_host("gw", "openbsd", "7.6", files)
    assert imported.rewrites[0].startswith("/etc/hostname.em0: a first deploy rewrites it")


def test_an_interface_file_without_settings_is_left_unmanaged() -> None:
    # `touch /etc/hostname.em1`, or every line commented out: netstart (and NetBSD's
    # rc.d/network) only creates the interface. The import used to stop as "a bug".
    for os, path in (("openbsd", "/etc/hostname.em1"), ("netbsd", "/etc/ifconfig.vioif1")):
        for text in ("", "# inet 192.0.2.20 255.255.255.0\n"):
            imported = import_host("gw", os, None, {path: text})
            name = path.rsplit(".", 1)[1]
            assert name not in public_entry(imported).get("interfaces", {})
            assert f"{path} leaves {name} out of the entry (unmanaged)" in [
                str(n) for n in imported.notes
            ]
