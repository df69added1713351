"""The lab's one error type."""

from __future__ import annotations

from bsdprov.errors import BsdprovError


class LabError(BsdprovError):
    """The lab cannot do what was asked; the message says why and, if it can, what to do."""
