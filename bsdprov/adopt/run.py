"""``bsdprov import`` against a live host (shell): connect, one read-only exec, build the
entry in the core, print it; with ``--write``, merge it into the inventory file atomically,
leaving the old file as ``FILE.bak``."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from bsdprov.adopt import import_host
from bsdprov.adopt.script import import_script, parse_import
from bsdprov.adopt.yamltext import entry_text, merged_inventory
from bsdprov.errors import UsageError
from bsdprov.inventory import load_inventory, parse_inventory
from bsdprov.model import HOST_NAME_RE, Host, parse_address
from bsdprov.session import Transport


def _address(text: str) -> str:
    try:
        return parse_address(text)
    except ValueError as exc:
        raise UsageError(f"import: --address {text!r}: {exc}") from None


def lost_comments(before: str, after: str) -> str | None:
    """The first comment (from a ``#`` to the line's end) of ``before`` that ``after`` no longer
    has; a ``#`` inside a value that moved may be reported too, which only stops the write."""
    for line in before.splitlines():
        _, mark, comment = line.partition("#")
        if mark and f"#{comment}".rstrip() not in after:
            return f"#{comment}".rstrip()
    return None


def _over_ssh(hosts: Mapping[str, Host], ssh_config: str | None) -> Callable[[Host], Transport]:
    def connect(host: Host) -> Transport:
        from bsdprov.ssh.transport import ConnectOptions
        from bsdprov.ssh.transport import connect as ssh_connect

        return ssh_connect(host, hosts, ConnectOptions(ssh_config=ssh_config))

    return connect


def import_live(
    name: str,
    address: str | None,
    inventory: str,
    ssh_config: str | None,
    write: bool,
    connect: Callable[[Host], Transport] | None = None,
) -> str:
    """``bsdprov import``: the host's entry as YAML with comments (what was left out), merged
    into the inventory file when ``write``. ``connect`` opens the session (default: SSH)."""
    path = Path(inventory)
    exists = path.exists()
    hosts = dict(load_inventory(path).hosts) if exists else {}
    target = hosts.get(name)
    if target is None:
        if not HOST_NAME_RE.fullmatch(name):
            raise UsageError(f"import: --host {name!r} is not a host name")
        target = Host(name=name, address=_address(address) if address else None)
    elif address:
        target = target.model_copy(update={"address": _address(address)})
    session = (connect or _over_ssh(hosts, ssh_config))(target)
    try:
        result = session.run_script(import_script(), timeout=60)
    finally:
        session.close()
    facts, sizes = parse_import(result.stdout, name)
    files = {p: f.content for p, f in facts.files.items() if f.content is not None}
    modes = {p: (f.mode, f.owner, f.group) for p, f in facts.files.items() if f.content is not None}
    imported = import_host(
        name,
        facts.os,
        facts.release,
        files,
        target.address,
        sizes,
        hosts,
        target.port,
        modes,
    )
    report = [f"# {name}: {facts.os} {facts.release}, read {len(files)} files"]
    report += [f"# not imported: {note}" for note in imported.notes]
    report += [f"# {line}" for line in imported.rewrites]
    out = "\n".join(report) + "\n" + entry_text(imported)
    if write:
        before = path.read_text(encoding="utf-8") if exists else ""
        after = merged_inventory(before, imported, hosts)
        parse_inventory(after, str(path))  # never write an inventory that does not load
        lost = lost_comments(before, after)
        if lost:
            raise UsageError(
                f"import --write: {path}: writing the entry would lose the comment {lost!r} "
                "(a comment inside a flow-style {...} mapping is not kept); nothing was "
                "written: add the entry printed by `import` without --write by hand"
            )
        if exists:
            shutil.copy2(path, path.with_name(path.name + ".bak"))
        temporary = path.with_name(f".{path.name}.import-tmp")
        temporary.write_text(after, encoding="utf-8")
        if exists:
            shutil.copymode(path, temporary)  # an inventory kept private stays private
        os.replace(temporary, path)
        out += f"# written to {path}" + (
            f" (the old file is {path.name}.bak)\n" if exists else "\n"
        )
    return out
