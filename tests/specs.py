"""Read and write data-driven spec folders (a case is a folder; its path is the test id)."""

from __future__ import annotations

import shlex
from pathlib import Path

from bsdprov.render import LineEdit, Rendered, Step, VarsEdit, file_content

SPECS = Path(__file__).parent / "specs"


def cases(kind: str) -> list[Path]:
    root = SPECS / kind
    return sorted(p.parent for p in root.rglob("host.yaml")) + sorted(
        p.parent for p in root.rglob("inventory.yaml")
    )


def case_id(path: Path) -> str:
    return str(path.relative_to(SPECS))


def step_lines(steps: tuple[Step, ...]) -> str:
    """One command per line: '-' marks a clean-up that may fail; '# on:' lists its triggers."""
    lines = []
    for step in steps:
        on = f"  # on: {' '.join(step.triggers)}" if step.triggers else ""
        lines.append(f"{'-' if step.may_fail else ''}{shlex.join(step.argv)}{on}\n")
    return "".join(lines)


def rendered_tree(rendered: Rendered, current: Path) -> dict[str, str]:
    """Relative path -> text of everything a render spec compares."""
    tree: dict[str, str] = {}
    listing = []
    for spec in rendered.files:
        relative = spec.path.lstrip("/")
        existing = current / relative
        edits = isinstance(spec, VarsEdit | LineEdit)
        before = existing.read_text() if edits and existing.exists() else None
        tree[relative] = file_content(spec, before)
        kind = " keys" if isinstance(spec, VarsEdit) else " lines" if edits else ""
        listing.append(f"{spec.path} {spec.mode:04o} {spec.owner}:{spec.group}{kind}\n")
    tree["files.txt"] = "".join(listing)
    tree["checks.txt"] = step_lines(rendered.checks)
    tree["steps.txt"] = step_lines(rendered.steps)
    tree["verify.txt"] = "".join(f"{shlex.join(c.argv)} ~ /{c.expect}/\n" for c in rendered.verify)
    # Only hypervisors create paths or own files by pattern: other cases keep their goldens.
    if rendered.creates:
        tree["creates.txt"] = "".join(
            f"{c.path} <- {shlex.join(c.argv)}\n" for c in rendered.creates
        )
    if rendered.owned_globs:
        tree["owned.txt"] = "".join(
            f"{g.pattern}  # on removal: {shlex.join(g.on_remove)}\n" for g in rendered.owned_globs
        )
    return tree


def read_tree(root: Path) -> dict[str, str]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def write_tree(root: Path, tree: dict[str, str]) -> None:
    for stale in read_tree(root):
        if stale not in tree:
            (root / stale).unlink()
    for relative, text in tree.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
