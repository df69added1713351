"""The template: this machine's busybox, sshd, sftp-server and setpriv with their libraries.

Built once into the lab directory and rebuilt only when one of its inputs (a binary, a library,
the gate script) changes. The per-OS images hard-link its files. Opt-in, it also holds this
machine's Python and its standard library, for tools that need a Python on the host (Ansible).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bsdprov.lab.errors import LabError
from bsdprov.lab.paths import GATE_SCRIPT, HOST_GATE, HOST_PYTHON_HOME, HOST_SETPRIV, LabPaths

# Bump when the template's layout changes, so existing labs rebuild it.
TEMPLATE_FORMAT = 2
# The system's python3 (Debian: stdlib in /usr/lib/python3.X, no libpython to carry along).
PYTHON = Path("/usr/bin/python3")
# Parts of the standard library no host-side tool imports: tests, GUIs, the static library.
_PYTHON_SKIP = ("test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "config-")

# (candidates on this machine, path in the host). sftp-server goes where the BSDs keep it.
_BINARIES = (
    (("/usr/bin/busybox", "/bin/busybox"), "bin/busybox"),
    (("/usr/sbin/sshd",), "usr/sbin/sshd"),
    (("/usr/lib/openssh/sftp-server",), "usr/libexec/sftp-server"),
    # POSIX cksum, as every BSD has it (Debian's busybox lacks the applet); bsdprov's on-host
    # transaction fingerprints files with it.
    (("/usr/bin/cksum", "/bin/cksum"), "usr/bin/cksum"),
    (("/usr/bin/setpriv", "/bin/setpriv"), HOST_SETPRIV),
)
PACKAGES = "apt-get install openssh-server openssh-client busybox util-linux"


@dataclass(frozen=True, slots=True)
class Template:
    """A built template: its root, its files, busybox's applet names and a content stamp."""

    root: Path
    files: tuple[str, ...]
    applets: tuple[str, ...]
    stamp: str
    python: bool = False

    @property
    def interpreter(self) -> str | None:
        """The Python executable's name (``python3.11``) when the template has one."""
        prefix = f"{HOST_PYTHON_HOME}/bin/"
        return next((f.removeprefix(prefix) for f in self.files if f.startswith(prefix)), None)


def ensure_template(paths: LabPaths, python: bool | None = None) -> Template:
    """Return the template, building it first if it is missing or its inputs changed.

    ``python`` adds (True) or leaves out (False) this machine's Python; None keeps what the
    lab's template has, so a reset never drops it.
    """
    try:
        manifest = json.loads(paths.template_manifest.read_text())
    except (OSError, ValueError):
        manifest = {}
    if python is None:
        python = template_has_python(paths)
    sources = template_sources(python)
    stamp = _stamp(sources)
    if manifest.get("stamp") == stamp and paths.template.is_dir():
        try:
            files, applets = tuple(manifest["files"]), tuple(manifest["applets"])
            return Template(paths.template, files, applets, stamp, python)
        except KeyError:
            pass
    return _build_template(paths, sources, stamp, python)


def template_has_python(paths: LabPaths) -> bool:
    """Whether the lab's current template carries Python (False when there is none yet)."""
    try:
        return bool(json.loads(paths.template_manifest.read_text()).get("python", False))
    except (OSError, ValueError, AttributeError):
        return False


def template_sources(python: bool = False) -> dict[str, Path]:
    """Map each template path to the file of this machine it copies.

    Raises ``LabError`` naming the package to install when a binary or library is missing, or
    when busybox is the static build.
    """
    sources: dict[str, Path] = {}
    for candidates, target in _BINARIES:
        found = next((Path(c) for c in candidates if Path(c).is_file()), None)
        if found is None:
            raise LabError(f"lab: {candidates[0]} is missing; install it with: {PACKAGES}")
        sources[target] = found
        for library in _shared_libraries(found):
            sources.setdefault(library.lstrip("/"), Path(library))
    sources[HOST_GATE] = GATE_SCRIPT
    if python:
        for target, source in _python_sources().items():
            sources.setdefault(target, source)
    return sources


def _python_sources() -> dict[str, Path]:
    """This machine's python3 and stdlib, laid out under ``HOST_PYTHON_HOME`` as under /usr.

    Python finds its stdlib relative to its (symlink-resolved) executable, so the tree works
    wherever it is mounted.
    """
    if not PYTHON.is_file():
        raise LabError(f"lab: {PYTHON} is missing; install it with: apt-get install python3")
    binary = PYTHON.resolve()
    stdlib = Path("/usr/lib") / binary.name
    if not (stdlib / "os.py").is_file():
        raise LabError(f"lab: {binary}'s standard library is not at {str(stdlib)!r}")
    sources = {f"{HOST_PYTHON_HOME}/bin/{binary.name}": binary}
    needs = [binary]
    for path in sorted(stdlib.rglob("*")):
        relative = path.relative_to(stdlib)
        if not path.is_file() or relative.parts[0].startswith(_PYTHON_SKIP):
            continue  # is_file() also drops dangling symlinks (Debian's into /etc)
        sources[f"{HOST_PYTHON_HOME}/lib/{stdlib.name}/{relative}"] = path.resolve()
        if path.suffix == ".so":
            needs.append(path)
    for binary_or_module in needs:
        for library in _shared_libraries(binary_or_module):
            sources.setdefault(library.lstrip("/"), Path(library))
    return sources


def _shared_libraries(binary: Path) -> list[str]:
    """The libraries (and the loader) ``binary`` needs, at the paths the loader will look."""
    result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if "not a dynamic executable" in result.stdout + result.stderr:
        raise LabError(
            f"lab: {binary} is statically linked, so its built-in applets would shadow the fake "
            "BSD tools; install Debian's 'busybox' package instead of 'busybox-static'"
        )
    if result.returncode != 0:
        raise LabError(f"lab: ldd {binary} failed: {result.stderr.strip()}")
    libraries = []
    for line in result.stdout.splitlines():
        name, arrow, rest = line.strip().partition("=>")
        words = (rest if arrow else name).split()
        if "not found" in line:
            raise LabError(f"lab: {binary} needs {name.strip()}, which is not installed")
        if words and words[0].startswith("/"):
            libraries.append(words[0])
    return libraries


def _stamp(sources: dict[str, Path]) -> str:
    digest = hashlib.sha256(f"format {TEMPLATE_FORMAT}\n".encode())
    for target, source in sorted(sources.items()):
        info = source.stat()
        line = f"{target} {source} {info.st_ino} {info.st_size} {info.st_mtime_ns}\n"
        digest.update(line.encode())
    return digest.hexdigest()


def _build_template(
    paths: LabPaths, sources: dict[str, Path], stamp: str, python: bool
) -> Template:
    # Built beside the old one and swapped in, so an interrupted build never leaves half a
    # template. Images keep working on the old files: their hard links keep them alive.
    fresh = paths.template.with_name("template.new")
    shutil.rmtree(fresh, ignore_errors=True)
    for target, source in sources.items():
        destination = fresh / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        destination.chmod(0o755 if os.access(source, os.X_OK) else 0o644)
    applets = _busybox_applets(fresh / "bin/busybox")
    old = paths.template.with_name("template.old")
    shutil.rmtree(old, ignore_errors=True)
    if paths.template.exists():
        paths.template.rename(old)
    fresh.rename(paths.template)
    shutil.rmtree(old, ignore_errors=True)
    files = tuple(sorted(sources))
    manifest = {"stamp": stamp, "files": files, "applets": applets, "python": python}
    paths.template_manifest.write_text(json.dumps(manifest, indent=1) + "\n")
    return Template(paths.template, files, tuple(applets), stamp, python)


def _busybox_applets(busybox: Path) -> list[str]:
    result = subprocess.run([str(busybox), "--list"], capture_output=True, text=True)
    if result.returncode != 0:
        raise LabError(f"lab: {busybox} --list failed: {result.stderr.strip()}")
    return sorted(set(result.stdout.split()))
