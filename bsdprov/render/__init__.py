"""Renderers by OS: ``render_host(host)`` gives its files, checks and activation steps."""

from __future__ import annotations

from bsdprov.errors import RenderError
from bsdprov.model import Host
from bsdprov.render.base import FileSpec, Rendered, Renderer, Step, VarsEdit, WordList
from bsdprov.render.freebsd import FreeBSDRenderer
from bsdprov.render.netbsd import NetBSDRenderer
from bsdprov.render.openbsd import OpenBSDRenderer
from bsdprov.render.shellvars import apply_vars_edit

RENDERERS: dict[str, Renderer] = {
    renderer.os: renderer for renderer in (FreeBSDRenderer(), NetBSDRenderer(), OpenBSDRenderer())
}

__all__ = [
    "RENDERERS",
    "FileSpec",
    "Rendered",
    "Step",
    "VarsEdit",
    "WordList",
    "render_host",
    "file_content",
]


def render_host(host: Host, os: str | None = None, release: str | None = None) -> Rendered:
    """Render ``host`` for ``os`` (default: the inventory's ``os:``) and ``release``."""
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
    return RENDERERS[os].render(host, release or host.release)


def file_content(spec: FileSpec | VarsEdit, current: str | None = None) -> str:
    """The full text a file will have; for a ``VarsEdit``, merged into ``current``."""
    if isinstance(spec, VarsEdit):
        return apply_vars_edit(spec, current)
    return spec.content
