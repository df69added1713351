"""Where the lab keeps things: on this machine (``LabPaths``) and inside a host's root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

LAB_DIR_ENV = "BSDPROV_LAB_DIR"
FAKES_ENV = "BSDPROV_LAB_FAKES"
DEFAULT_LAB_DIR = Path("/var/lib/bsdprov-lab")
DEFAULT_INVENTORY = Path("inventories/lab.yaml")

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGED_FAKES = PACKAGE_DIR / "fakes"
BOOT_SCRIPT = PACKAGE_DIR / "boot.sh"
GATE_SCRIPT = PACKAGE_DIR / "sshd-gate.sh"

# Inside a host (see boot.sh, which names the same paths). The directories a host can write
# are its own (hosts/NAME/root); everything else is its OS's image, shared and read-only.
WRITABLE_DIRS = ("etc", "var", "root", "home", "tmp", "run", "usr/local")
HOST_LAB_LIBEXEC = "usr/libexec/lab"
HOST_NETNS_FILE = "usr/libexec/lab/netns"
HOST_EMPTY_FILE = "usr/libexec/lab/empty"
HOST_GATE = "usr/libexec/lab/sshd-gate"
HOST_SETPRIV = "usr/libexec/lab/setpriv"
HOST_INIT_STATE = "usr/libexec/lab/init-state.sh"
HOST_KEY = "etc/ssh/ssh_host_ed25519_key"
# Opt-in Python (lab.up --python): the tree in the image, and where BSD packages put python3.
HOST_PYTHON_HOME = "usr/libexec/lab/python"
HOST_PYTHON = "usr/local/bin/python3"


def default_lab_dir() -> Path:
    """The lab directory: ``$BSDPROV_LAB_DIR`` or ``/var/lib/bsdprov-lab``."""
    return Path(os.environ.get(LAB_DIR_ENV) or DEFAULT_LAB_DIR)


def fakes_dir() -> Path:
    """The fake BSD tools: ``$BSDPROV_LAB_FAKES`` (to try another tree) or the packaged ones."""
    return Path(os.environ.get(FAKES_ENV) or PACKAGED_FAKES)


@dataclass(frozen=True, slots=True)
class LabPaths:
    """The files of one lab directory."""

    root: Path

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def client_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def template(self) -> Path:
        return self.root / "template"

    @property
    def template_manifest(self) -> Path:
        return self.root / "template.json"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def hosts(self) -> Path:
        return self.root / "hosts"

    def host_dir(self, name: str) -> Path:
        return self.hosts / name

    def host_root(self, name: str) -> Path:
        """The host's own directories (/etc, /var, ...), as seen from this machine."""
        return self.hosts / name / "root"

    def host_mount(self, name: str) -> Path:
        """Where boot.sh assembles the host's root, inside the host's mount namespace."""
        return self.hosts / name / "mnt"

    def host_key(self, name: str) -> Path:
        """The host's private key, kept outside its root so ``lab.reset`` keeps it."""
        return self.hosts / name / "ssh_host_ed25519_key"

    def console_log(self, name: str) -> Path:
        return self.hosts / name / "console.log"
