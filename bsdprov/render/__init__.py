"""Renderers by OS: ``render_host(host)`` gives its files, checks and activation steps."""

from __future__ import annotations

from bsdprov.errors import RenderError
from bsdprov.model import Host
from bsdprov.render.base import (
    FileEdit,
    FileSpec,
    LineEdit,
    Rendered,
    Renderer,
    Step,
    VarsEdit,
    WordList,
)
from bsdprov.render.freebsd import FreeBSDRenderer
from bsdprov.render.lines import apply_line_edit
from bsdprov.render.netbsd import NetBSDRenderer
from bsdprov.render.openbsd import OpenBSDRenderer
from bsdprov.render.shellvars import apply_vars_edit
from bsdprov.vmd import Guest

RENDERERS: dict[str, Renderer] = {
    renderer.os: renderer for renderer in (FreeBSDRenderer(), NetBSDRenderer(), OpenBSDRenderer())
}

__all__ = [
    "RENDERERS",
    "FileEdit",
    "FileSpec",
    "LineEdit",
    "Rendered",
    "Step",
    "VarsEdit",
    "WordList",
    "render_host",
    "file_content",
]


def render_host(
    host: Host, os: str | None = None, release: str | None = None, guests: tuple[Guest, ...] = ()
) -> Rendered:
    """Render ``host`` for ``os`` (default: the inventory's ``os:``) and ``release``; a vmd
    hypervisor also renders its ``guests``' VMs (``Inventory.guests``)."""
    os = os or host.os
    if os is None:
        raise RenderError(
            f"host {host.name!r}: no 'os' in the inventory; offline rendering "
            "needs one (freebsd, openbsd or netbsd)"
        )
    if host.os is not None and os != host.os:
        raise RenderError(
            f"host {host.name!r}: the inventory says os {host.os!r} but the host runs {os!r}"
        )
    return RENDERERS[os].render(host, release or host.release, guests)


def file_content(spec: FileEdit, current: str | None = None) -> str:
    """The full text a file will have; a ``VarsEdit`` or ``LineEdit`` is merged into
    ``current`` (None: the file does not exist)."""
    if isinstance(spec, VarsEdit):
        return apply_vars_edit(spec, current)
    if isinstance(spec, LineEdit):
        return apply_line_edit(spec, current)
    return spec.content
