"""What a live command loads (issue 12): ``bsdprov plan`` imports the SSH stack, the model and
bsdprov's own modules, and nothing more. A package added to this set costs every live command
its import; add it here only knowing that (bench/RESULTS.md has the start-up figures)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.test_tasks import ROOT

INVENTORY = """\
hosts:
  gw:
    address: 127.0.0.1
    port: 1
    os: openbsd
    interfaces:
      vio0: {addresses: [198.18.0.1/24]}
"""
# Third-party top-level packages (C helpers named with a leading '_' aside): the SSH stack
# (paramiko, its crypto, Fabric and Invoke, which paramiko's config imports too), the model
# (pydantic), YAML. stderr is a pipe here: on a terminal the live display adds rich.
EXPECTED = {
    "annotated_types",
    "bcrypt",
    "cryptography",
    "decorator",
    "fabric",
    "invoke",
    "nacl",
    "paramiko",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "typing_inspection",
    "yaml",
}
NEVER = ("bsdprov.lab.manager", "bsdprov.adopt", "bsdprov.bench", "ruamel")


def test_a_plan_loads_the_ssh_stack_the_model_and_nothing_more(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    child = (
        "import sys\n"
        "from bsdprov.cli import main\n"
        "try:\n"
        f"    main(['plan', '--host', 'gw', '-i', {str(inventory)!r}])\n"
        "except SystemExit as exc:\n"
        "    sys.stderr.write(f'\\nEXIT {exc.code}')\n"
        "sys.stderr.write('\\nLOADED ' + ' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert "\nEXIT 3" in done.stderr, done.stderr[-2000:]  # unreachable: it did connect
    loaded = set(done.stderr.rpartition("\nLOADED ")[2].split())
    assert "bsdprov.ssh.transport" in loaded
    tops = {m.split(".")[0] for m in loaded} - set(sys.stdlib_module_names)
    # cython_runtime: the module Cython extensions (libyaml's binding) register, no package.
    ours = ("bsdprov", "tests", "cython_runtime")
    third_party = {t for t in tops if not t.startswith("_") and t not in ours}
    assert third_party == EXPECTED
    assert not [m for m in loaded if m.startswith(NEVER)]
