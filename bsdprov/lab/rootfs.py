"""A host's file system: its OS's shared read-only image plus its own writable directories.

The image of an OS (``images/<os>-<stamp>``) hard-links the template's binaries and holds the
fakes and the busybox applet links; every host of that OS mounts it read-only as its root. A
host's own tree (``hosts/NAME/root``) holds only what a BSD admin writes: /etc, /var, /root,
/home, /tmp, /run, /usr/local. So a host costs a few dozen small files, and no host can change
what another one runs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bsdprov.lab.hosts import HostSpec
from bsdprov.lab.paths import (
    HOST_EMPTY_FILE,
    HOST_INIT_STATE,
    HOST_KEY,
    HOST_NETNS_FILE,
    HOST_PYTHON,
    HOST_PYTHON_HOME,
    WRITABLE_DIRS,
    LabPaths,
)
from bsdprov.lab.template import Template

# Bump when an image's layout changes, so existing labs rebuild their images.
IMAGE_FORMAT = 1
_BIN_DIRS = (
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
    "usr/pkg/bin",
    "usr/pkg/sbin",
)
# Mount points boot.sh needs in the image, besides the writable directories.
_IMAGE_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin", "usr/libexec/lab", "dev", "proc", ".oldroot")

_HOST_DIRS = {
    "etc/ssh": 0o755, "root/.ssh": 0o700, "home": 0o755, "tmp": 0o1777, "run/sshd": 0o755,
    "run/lab": 0o755, "var/log": 0o755, "var/run": 0o755, "var/empty": 0o755, "var/tmp": 0o1777,
    "var/lab/faults": 0o755, "usr/local": 0o755,
}  # fmt: skip
_PASSWD = """\
root:*:0:0:Charlie &:/root:/bin/sh
daemon:*:1:1:The devil himself:/root:/sbin/nologin
sshd:*:27:27:sshd privsep:/var/empty:/sbin/nologin
nobody:*:32767:32767:Unprivileged user:/nonexistent:/sbin/nologin
"""
_GROUP = "wheel:*:0:root\ndaemon:*:1:daemon\nsshd:*:27:\nnogroup:*:32766:\nnobody:*:32767:\n"
_SSHD_CONFIG = """\
# Written by the bsdprov lab. sshd runs in inetd mode (-i), one process per connection,
# started by /usr/libexec/lab/sshd-gate.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
DebianBanner no
LogLevel VERBOSE
Subsystem sftp /usr/libexec/sftp-server
"""


def ensure_image(paths: LabPaths, template: Template, os_key: str, fakes: Path) -> Path:
    """Return the read-only image of ``os_key``, building it if the template or fakes changed."""
    trees = _fake_trees(fakes, os_key)
    digest = hashlib.sha256(f"format {IMAGE_FORMAT} {template.stamp} {os_key}\n".encode())
    for tree in trees:
        for relative, source in _files(tree):
            digest.update(f"{tree.name}/{relative} {source.lstat().st_mode:o}\n".encode())
            digest.update(
                os.readlink(source).encode() if source.is_symlink() else source.read_bytes()
            )
    init_state = fakes / "init-state.sh"
    if init_state.is_file():
        digest.update(b"init-state\n" + init_state.read_bytes())
    image = paths.images / f"{os_key}-{digest.hexdigest()[:16]}"
    if not image.is_dir():
        _build_image(image, template, trees, init_state)
    return image


def _build_image(image: Path, template: Template, trees: list[Path], init_state: Path) -> None:
    fresh = image.with_name(image.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    for directory in (*_IMAGE_DIRS, *WRITABLE_DIRS):
        (fresh / directory).mkdir(parents=True, exist_ok=True)
    for relative in template.files:
        (fresh / relative).parent.mkdir(parents=True, exist_ok=True)
        os.link(template.root / relative, fresh / relative)
    for tree in trees:
        _copy_files(tree, fresh, lambda relative: not _is_writable(relative))
    if init_state.is_file():
        shutil.copy2(init_state, fresh / HOST_INIT_STATE)
    link_applets(fresh, template.applets, _command_names(trees))
    # Mount points of boot.sh: the network namespace, and an empty file it puts over
    # /etc/ld.so.preload and /etc/ld.so.cache.
    _write(fresh / HOST_NETNS_FILE, "")
    _write(fresh / HOST_EMPTY_FILE, "")
    for path in [fresh, *(p for p in fresh.rglob("*") if p.is_dir() and not p.is_symlink())]:
        path.chmod(0o755)
    (fresh / "proc").chmod(0o555)
    (fresh / ".oldroot").chmod(0o700)
    fresh.rename(image)


@dataclass(frozen=True, slots=True)
class HostFiles:
    """What goes into one host's own tree."""

    spec: HostSpec
    fakes: Path
    host_key: Path
    client_public_key: str
    python: str | None = None  # the interpreter's name (python3.11) when the image has one


def build_host_root(root: Path, files: HostFiles) -> None:
    """Create a host's own tree afresh at ``root`` (the host must be stopped)."""
    if root.exists():
        shutil.rmtree(root)
    for directory in WRITABLE_DIRS:
        (root / directory).mkdir(parents=True, exist_ok=True)
    for directory, mode in _HOST_DIRS.items():
        (root / directory).mkdir(parents=True, exist_ok=True)
        (root / directory).chmod(mode)
    (root / "root").chmod(0o700)
    _write(root / "etc/passwd", _PASSWD)
    _write(root / "etc/group", _GROUP)
    _write(root / "etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost\n")
    _write(root / "etc/shells", "/bin/sh\n")
    _write(root / "etc/profile", "PS1='\\h# '\nexport PS1\n")
    _write(root / "etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n")
    # Mount points for boot.sh's empty file (see the image).
    _write(root / "etc/ld.so.preload", "")
    _write(root / "etc/ld.so.cache", "")

    spec = files.spec
    for tree in _fake_trees(files.fakes, spec.os):
        _copy_files(tree, root, _is_writable)
    _write(root / "var/lab/os", spec.os + "\n")
    _write(root / "var/lab/release", spec.release + "\n")
    _write(root / "var/lab/hostname", spec.name + "\n")
    _write(root / "var/lab/mgmt", f"{spec.interface} {spec.address.ip}\n")
    _write(root / "etc/ssh/sshd_config", _SSHD_CONFIG)
    _write(root / "root/.ssh/authorized_keys", files.client_public_key + "\n", 0o600)
    shutil.copyfile(files.host_key, root / HOST_KEY)
    (root / HOST_KEY).chmod(0o600)
    public = files.host_key.with_name(files.host_key.name + ".pub")
    shutil.copyfile(public, root / (HOST_KEY + ".pub"))
    if files.python:
        # /usr/local is the host's own, so the link lives there and the tree in the image.
        (root / HOST_PYTHON).parent.mkdir(parents=True, exist_ok=True)
        (root / HOST_PYTHON).symlink_to(f"/{HOST_PYTHON_HOME}/bin/{files.python}")


def init_state_args(spec: HostSpec) -> list[str]:
    """Arguments of the fakes' init-state.sh, which boot.sh runs on the host's first boot."""
    extra = [word for name in spec.extra_interfaces for word in ("-x", name)]
    lab_only = ["-l"] if spec.lab_only else []
    return [*lab_only, *extra, spec.os, spec.interface, str(spec.address), str(spec.gateway)]


def link_applets(root: Path, applets: Iterable[str], faked: set[str]) -> None:
    """Link busybox applets into /bin and /usr/bin, except the names the fakes provide.

    Debian's dynamic busybox runs a command through PATH, never its own applet of that name,
    but an applet link in /bin would still shadow a fake later in PATH (``/usr/bin/uname``
    behind ``/bin/uname``). So a faked name gets no applet link at all.
    """
    (root / "bin/sh").symlink_to("busybox")
    for directory, target in (("bin", "busybox"), ("usr/bin", "../../bin/busybox")):
        for applet in applets:
            link = root / directory / applet
            if applet not in faked and not link.is_symlink() and not link.exists():
                link.symlink_to(target)


def _fake_trees(fakes: Path, os_key: str) -> list[Path]:
    """common/ first, then the OS's own tree, which wins where both have a file."""
    return [tree for tree in (fakes / "common", fakes / os_key) if tree.is_dir()]


def _is_writable(relative: Path) -> bool:
    text = relative.as_posix()
    return any(text == d or text.startswith(d + "/") for d in WRITABLE_DIRS)


def _files(tree: Path) -> Iterator[tuple[Path, Path]]:
    """(path relative to ``tree``, path) of every file and symlink of ``tree``, sorted."""
    for directory, subdirs, names in os.walk(tree):
        subdirs.sort()
        links = [d for d in subdirs if (Path(directory) / d).is_symlink()]
        for name in sorted(names + links):
            source = Path(directory) / name
            yield source.relative_to(tree), source


def _copy_files(tree: Path, root: Path, wanted: Callable[[Path], bool]) -> None:
    """Copy the files of ``tree`` that ``wanted(relative)`` accepts over ``root``."""
    for relative, source in _files(tree):
        if not wanted(relative):
            continue
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()  # never write into an inode another host or the template shares
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)


def _command_names(trees: Iterable[Path]) -> set[str]:
    """Names the fakes provide in any directory of PATH."""
    names = set()
    for tree in trees:
        for directory in _BIN_DIRS:
            if (tree / directory).is_dir():
                names |= {entry.name for entry in (tree / directory).iterdir()}
    return names


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
