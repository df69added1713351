"""A file bsdprov writes whole that differs from the rendering only in comments and blank
lines (an admin's file, without bsdprov's header) is left as it is: no change, no command."""

from __future__ import annotations

from bsdprov.facts import ObservedFile
from bsdprov.plan import plan_host
from bsdprov.render import file_content, render_host
from tests.test_plan import EXAMPLE, applied

HN = "/etc/hostname.vio0"


def by_admin(text: str) -> str:
    """The rendered text as an admin writes it: no header, own comments, blank lines."""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return "# uplink, set up 2019 -- ask Bob\n\n" + "\n\n  # note\n".join(lines) + "\n"


def test_an_admin_file_with_the_same_lines_is_kept_with_its_comments() -> None:
    observed = applied("obsd1")
    observed[HN] = ObservedFile(HN, by_admin(observed[HN].content or ""), 0o640, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert not plan.has_changes and plan.steps == ()
    assert plan.notes == (f"{HN} differs only in comments: left as is",)


def test_a_mode_change_keeps_the_admins_comments() -> None:
    observed = applied("obsd1")
    admin = by_admin(observed[HN].content or "")
    observed[HN] = ObservedFile(HN, admin, 0o644, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    (change,) = plan.changes
    assert change.action == "metadata" and change.after == admin and change.mode == 0o640
    assert plan.steps == ()


def test_a_changed_line_still_rewrites_the_whole_file() -> None:
    observed = applied("obsd1")
    admin = by_admin(observed[HN].content or "") + "up\n"
    observed[HN] = ObservedFile(HN, admin, 0o640, "root", "wheel")
    rendered = render_host(EXAMPLE.hosts["obsd1"])
    plan = plan_host(rendered, observed)
    (change,) = plan.changes
    spec = next(f for f in rendered.files if f.path == HN)
    assert change.action == "modify" and change.after == file_content(spec)
    assert change.before.content == admin  # what the transaction backs up
    assert plan.steps != ()


def test_a_continued_line_is_never_judged_comment_only() -> None:
    # netstart reads hostname.if(5) without -r: "\\" at a line's end joins the next line,
    # so the '#' line below is part of the command, not a comment.
    observed = applied("obsd1")
    text = observed[HN].content or ""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    admin = lines[0] + " \\\n# part of the line above\n" + "".join(f"{x}\n" for x in lines[1:])
    observed[HN] = ObservedFile(HN, admin, 0o640, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert [c.path for c in plan.changes] == [HN]


def test_a_last_line_without_newline_is_a_change() -> None:
    # netstart's stripcom and rc.d/network read lines with `while read`: an unterminated
    # last line is never read, so the file does not mean what the rendering means.
    observed = applied("obsd1")
    lines = [x for x in (observed[HN].content or "").splitlines() if not x.startswith("#")]
    observed[HN] = ObservedFile(HN, "\n".join(lines), 0o640, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert [c.path for c in plan.changes] == [HN]


def test_a_carriage_return_is_not_a_blank() -> None:
    # netstart splits a line on IFS (space, tab, newline): "255.255.255.0\r" is not a netmask.
    observed = applied("obsd1")
    lines = [x for x in (observed[HN].content or "").splitlines() if not x.startswith("#")]
    observed[HN] = ObservedFile(HN, "".join(f"{x}\r\n" for x in lines), 0o640, "root", "wheel")
    plan = plan_host(render_host(EXAMPLE.hosts["obsd1"]), observed)
    assert [c.path for c in plan.changes] == [HN]
    assert plan.steps != (), "the rewritten file means something else: it is activated"
