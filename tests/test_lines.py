"""Managed lines in a file the admin also edits (``LineEdit``): ours change, the rest stays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bsdprov.inventory import load_inventory
from bsdprov.render import LineEdit, file_content, render_host
from bsdprov.render.hypervisor import vm_conf
from tests.specs import SPECS

FORWARD = LineEdit("/etc/sysctl.conf", ("net.inet.ip.forwarding=1",), "=")


def test_a_line_with_the_key_is_replaced_in_place() -> None:
    before = "kern.maxfiles=16384\nnet.inet.ip.forwarding=0\nddb.panic=0\n"
    after = "kern.maxfiles=16384\nnet.inet.ip.forwarding=1\nddb.panic=0\n"
    assert file_content(FORWARD, before) == after


def test_the_key_ignores_spaces_around_the_separator() -> None:
    assert file_content(FORWARD, "net.inet.ip.forwarding = 0\n") == "net.inet.ip.forwarding=1\n"


def test_comment_lines_are_never_touched() -> None:
    before = "#net.inet.ip.forwarding=1\t# 1=Permit forwarding\n  # net.inet.ip.forwarding=0\n"
    assert file_content(FORWARD, before) == before + "net.inet.ip.forwarding=1\n"


def test_later_duplicates_of_a_key_go() -> None:
    before = "net.inet.ip.forwarding=0\nkern.maxfiles=1\nnet.inet.ip.forwarding=0\n"
    assert file_content(FORWARD, before) == "net.inet.ip.forwarding=1\nkern.maxfiles=1\n"


def test_a_missing_final_newline_is_added_before_appending() -> None:
    assert file_content(FORWARD, "kern.maxfiles=1") == "kern.maxfiles=1\nnet.inet.ip.forwarding=1\n"


def test_nothing_to_append_leaves_a_file_without_final_newline_alone() -> None:
    edit = LineEdit("/etc/sysctl.conf", ("kern.maxfiles=1",), "=")
    assert file_content(edit, "ddb.panic=0\nkern.maxfiles=1\nx=1") == (
        "ddb.panic=0\nkern.maxfiles=1\nx=1"
    )


def test_an_absent_or_empty_file_gets_just_the_lines() -> None:
    edit = LineEdit("/etc/sysctl.conf", ("a.b=1", "c.d=0"), "=")
    assert file_content(edit, None) == "a.b=1\nc.d=0\n"
    assert file_content(edit, "") == "a.b=1\nc.d=0\n"


def test_without_separator_the_whole_line_is_the_key() -> None:
    edit = LineEdit("/etc/pf.conf", ('include "/etc/pf.bsdprov.conf"',), None, 0o600)
    admin = "set skip on lo\nblock return\npass\n"
    once = file_content(edit, admin)
    assert once == admin + 'include "/etc/pf.bsdprov.conf"\n'
    assert file_content(edit, once) == once
    indented = '  include "/etc/pf.bsdprov.conf"  \n' + admin
    assert file_content(edit, indented) == 'include "/etc/pf.bsdprov.conf"\n' + admin


KEYS = st.sampled_from(["a.b", "c.d", "net.inet.ip.forwarding", "kern.x"])
LINES = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", KEYS, st.sampled_from(["0", "1", " 1", "2 # note"])),
    st.builds(lambda k: f"#{k}=1", KEYS),
    st.sampled_from(["", "   ", "# comment", "junk without separator"]),
)


@given(
    st.lists(LINES, max_size=8),
    st.booleans(),
    st.lists(st.builds(lambda k, v: f"{k}={v}", KEYS, st.sampled_from(["0", "1"])), max_size=3),
)
def test_applying_twice_is_applying_once(
    lines: list[str], final_newline: bool, own: list[str]
) -> None:
    current = "\n".join(lines) + ("\n" if final_newline and lines else "")
    edit = LineEdit("/etc/sysctl.conf", tuple(own), "=")
    once = file_content(edit, current)
    assert file_content(edit, once) == once
    kept = [line for line in current.splitlines() if line.strip().startswith("#")]
    assert all(line in once.splitlines() for line in kept), "comments stay"


def test_vm_conf_has_no_semicolon_and_no_comma() -> None:
    """vmd's parse.y has no ';' separator and no ',' inside braces."""
    for case in sorted((SPECS / "render" / "openbsd").glob("vmd_*")):
        inventory = load_inventory(case / "host.yaml")
        host = next(iter(inventory.hosts.values()))
        text = vm_conf(host, inventory.guests(host.name))
        assert ";" not in text and "," not in text, case.name
        rendered = render_host(host, guests=inventory.guests(host.name))
        assert any(f.path == "/etc/vm.conf" for f in rendered.files)
