"""SSH keys of the lab: one client key, one ed25519 host key per host (kept across resets)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bsdprov.lab.errors import LabError


def ensure_key(path: Path, comment: str) -> str:
    """Create an ed25519 key pair at ``path`` unless one exists; return the public key.

    The public key is returned as ``"ssh-ed25519 AAAA..."`` without the comment, the form
    known_hosts and the inventory's ``host_key`` use.
    """
    public = path.with_name(path.name + ".pub")
    if not (path.exists() and public.exists()):
        path.unlink(missing_ok=True)
        public.unlink(missing_ok=True)
        result = subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise LabError(f"{path}: ssh-keygen failed: {result.stderr.strip()}")
    path.chmod(0o600)
    return public_key(path)


def public_key(path: Path) -> str:
    """Return the ``type base64`` part of the public key that belongs to ``path``."""
    fields = path.with_name(path.name + ".pub").read_text().split()
    return " ".join(fields[:2])
