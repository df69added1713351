"""rc.conf key edits: managed keys change, every other byte stays."""

from __future__ import annotations

import pytest

from bsdprov.errors import RenderError
from bsdprov.render import VarsEdit, WordList
from bsdprov.render.shellvars import apply_vars_edit

ADMIN = 'sshd_enable="YES"\n# a comment\n\nzfs_enable="YES"  # inline\n'


def edit(*assign: tuple[str, str | WordList], remove: tuple[str, ...] = ()) -> VarsEdit:
    return VarsEdit("/etc/rc.conf", tuple(assign), remove)


def test_new_keys_are_appended_and_other_lines_kept() -> None:
    result = apply_vars_edit(edit(("defaultrouter", "192.0.2.1")), ADMIN)
    assert result == ADMIN + 'defaultrouter="192.0.2.1"\n'


def test_existing_key_is_replaced_in_place_and_later_copies_dropped() -> None:
    current = 'a="1"\ndefaultrouter=192.0.2.9\nb="2"\ndefaultrouter="192.0.2.8"\n'
    result = apply_vars_edit(edit(("defaultrouter", "192.0.2.1")), current)
    assert result == 'a="1"\ndefaultrouter="192.0.2.1"\nb="2"\n'


def test_owned_keys_no_longer_wanted_are_removed() -> None:
    current = 'ifconfig_em0_alias3="inet 10.0.0.1/32"\nifconfig_em1_alias0="x"\n'
    result = apply_vars_edit(edit(remove=("ifconfig_em0_*",)), current)
    assert result == 'ifconfig_em1_alias0="x"\n'


def test_unchanged_file_stays_byte_identical() -> None:
    current = ADMIN + 'defaultrouter="192.0.2.1"\n'
    assert apply_vars_edit(edit(("defaultrouter", "192.0.2.1")), current) == current


def test_missing_final_newline_is_added_before_appending() -> None:
    assert apply_vars_edit(edit(("x", "1")), 'a="b"') == 'a="b"\nx="1"\n'


def test_absent_file_gets_only_managed_keys() -> None:
    assert apply_vars_edit(edit(("x", "1"), ("y", "2")), None) == 'x="1"\ny="2"\n'


@pytest.mark.parametrize(
    "line", ["static_routes='admin'", "static_routes=admin", 'export static_routes="admin"']
)
def test_word_list_keeps_admin_words_after_ours(line: str) -> None:
    words = WordList(("bsdprov_gw",), owned_prefix="bsdprov_")
    result = apply_vars_edit(edit(("static_routes", words)), line + "\n")
    assert result == 'static_routes="bsdprov_gw admin"\n'


def test_word_list_drops_our_stale_words_and_empty_list_goes() -> None:
    words = WordList((), owned_prefix="bsdprov_")
    assert apply_vars_edit(edit(("static_routes", words)), 'static_routes="bsdprov_old"\n') == ""


@pytest.mark.parametrize(
    "line",
    [
        'defaultrouter="$(cat /gw)"',
        "defaultrouter=`cat /gw`",
        'defaultrouter="192.0.2.1',
        'defaultrouter="a\\"b"',
    ],
)
def test_unsafe_forms_stop_with_the_line_number(line: str) -> None:
    with pytest.raises(RenderError, match=r"^/etc/rc.conf:2: cannot safely edit 'defaultrouter'"):
        apply_vars_edit(edit(("defaultrouter", "192.0.2.1")), 'a="1"\n' + line + "\n")


def test_unmanaged_unsafe_lines_are_left_alone() -> None:
    current = 'foo="$(hostname)"\n'
    assert apply_vars_edit(edit(("x", "1")), current) == current + 'x="1"\n'
