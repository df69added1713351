"""The short options of every ``bsdprov`` command, the lab's included: each letter means the same
everywhere, and every other option is long only. Invoke would otherwise give each task the first
free letters of its own options ('-d' was --detailed-exitcode in plan but --dry-run in deploy,
'-r' --restart-vms in deploy but --run in rollback, '-h' --hosts in lab.up but --host elsewhere)."""

from __future__ import annotations

from typing import Any

from invoke.tasks import Task

SHORT = {
    "host": "h",
    "group": "g",
    "all": "a",
    "inventory": "i",
    "parallel": "p",
    "ssh_config": "s",
    "json": "j",
    "dry_run": "d",
    "yes": "y",
    "verbose": "v",
    "run": "r",
    "confirm_timeout": "c",
}


class Command(Task):  # type: ignore[type-arg]
    """A task whose options take only the short letters of ``SHORT``."""

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        if name in ("parallel", "confirm_timeout"):
            opts["kind"] = int  # None by default: the setting comes from env or bsdprov.yaml
        short = SHORT.get(name)
        opts["names"] = [opts["names"][0], *([short] if short else [])]
        return opts
