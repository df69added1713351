"""``bsdprov import`` of a vmd hypervisor that runs: on a lab shaped like the example's hv1 and
its guests, hv1's files (interfaces, mygate, myname, sysctl.conf, pf.conf with its include,
pf.bsdprov.conf, the VM anchors, vm.conf, dhcpd.conf, rc.conf.local) are installed over SSH,
not by a deploy, and activated by hand; the inventory then knows hv1 only by how to reach it
and its guests only by their own interfaces. ``import --write`` gives back hv1's entry and its
guests' ``vm:`` keys, and ``plan --detailed-exitcode`` on hv1 finds nothing to change.

The files' settings come from bsdprov's renderer (the layout an import reads back), written as
an admin would: the files bsdprov writes whole have no bsdprov header but the admin's own
comment and blank line, which a plan leaves as they are.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bsdprov.inventory import load_inventory
from bsdprov.lab.manager import down_lab, up_like_lab
from bsdprov.lab.pytest_plugin import skip_without_lab, slot_dir, slot_port
from bsdprov.render import FileSpec, file_content, render_host
from bsdprov.render.base import MANAGED_HEADER
from tests.command import bsdprov

pytestmark = pytest.mark.e2e

EXAMPLE = Path(__file__).parents[2] / "inventories" / "example.yaml"
LAB_DIR = slot_dir(Path("/var/lib/bsdprov-lab-import-test"))
BASE_PORT = slot_port(24901)  # clear of the other test labs (24001 ... 24501, 25101, 26601)
HYPERVISOR = ("hv1", "web01", "db01", "obsd1")
ADMIN = "# hv1, set up by hand (ticket 4711)\n\n"
READ_KEYS = ("hostname", "interfaces", "routes", "forwarding", "switches", "nat", "dhcp_server")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """hv1 and its guests as lab hosts; yields the inventory that points at them."""
    skip_without_lab()
    work = tmp_path_factory.mktemp("import-hypervisor")
    data = yaml.safe_load(EXAMPLE.read_text())
    data["hosts"] = {n: h for n, h in data["hosts"].items() if n in HYPERVISOR}
    data["groups"] = {"dmz": data["groups"]["dmz"]}
    like = work / "like.yaml"
    like.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        up_like_lab(like, lab_dir=LAB_DIR, inventory=work / "lab.yaml", base_port=BASE_PORT)
        yield work / "lab.yaml"
    finally:
        down_lab(lab_dir=LAB_DIR, purge=True)


def ssh(name: str, command: str, text: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-F", str(LAB_DIR / "ssh_config"), name, command]
    return subprocess.run(argv, input=text, capture_output=True, text=True, timeout=60)


def by_hand_command(argv: tuple[str, ...]) -> str:
    """The admin's own command for a step that runs one of bsdprov's on-host helpers."""
    helper = argv[1].rsplit("/", 1)[-1] if argv[0] == "sh" and len(argv) > 1 else ""
    if helper == "sysctl-apply":
        return "sysctl net.inet.ip.forwarding=1"
    if helper == "rc-apply":
        return f"rcctl {'restart' if argv[2] == 'restart' else 'start'} {argv[-1]}"
    if helper == "pf-anchor":
        return f"pfctl -a {argv[2]} -f {argv[3]}"
    return shlex.join(argv)


def set_up_by_hand(inventory: Path) -> None:
    """Install hv1's files over SSH with the admin's modes, then activate them as an admin
    does after editing them: disks, netstart, sysctl, pfctl, rcctl, vmctl."""
    loaded = load_inventory(inventory)
    rendered = render_host(loaded.hosts["hv1"], guests=loaded.guests("hv1"))
    for guest in loaded.guests("hv1"):  # the admin's own vmctl create, not bsdprov's step
        disk = guest.vm.disk
        command = (
            f"mkdir -p {disk.path.rsplit('/', 1)[0]} && vmctl create -s {disk.size} {disk.path}"
        )
        assert ssh("hv1", command).returncode == 0
    assert ssh("hv1", "mkdir -p /etc/pf.vm && chmod 0700 /etc/pf.vm").returncode == 0
    for spec in rendered.files:
        current = ssh("hv1", f"cat {spec.path} 2>/dev/null").stdout or None
        text = file_content(spec, current)
        if isinstance(spec, FileSpec):  # written whole: the admin's comments, not bsdprov's
            text = ADMIN + text.replace(f"{MANAGED_HEADER}\n", "")
            assert MANAGED_HEADER not in text
        command = f"cat >{spec.path} && chmod {spec.mode:o} {spec.path}"
        result = ssh("hv1", command, text)
        assert result.returncode == 0, result.stderr
    # One session, as from the console: deleting the default route before netstart adds it
    # back would cut a new SSH login off in between.
    script = "".join(
        f"{by_hand_command(step.argv)}{' || :' if step.may_fail else ' || exit 1'}\n"
        for step in rendered.steps
        # em0 carries the session; netstart em0 only adds to it
        if step.argv[:2] != ("ifconfig", "em0")
    )
    result = ssh("hv1", "sh -s", script)
    assert result.returncode == 0, result.stderr


def test_import_of_a_running_hypervisor_plans_no_change(lab: Path, tmp_path: Path) -> None:
    set_up_by_hand(lab)
    data = yaml.safe_load(lab.read_text())
    hv1 = data["hosts"]["hv1"]
    expected_vms = {n: data["hosts"][n]["vm"] for n in HYPERVISOR[1:]}
    for key in READ_KEYS:
        hv1.pop(key, None)
    for guest in HYPERVISOR[1:]:
        del data["hosts"][guest]["vm"]
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("# hv1 before its adoption\n" + yaml.safe_dump(data, sort_keys=False))

    imported = bsdprov("import", "--host", "hv1", "-i", str(inventory), "--write")
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert "not imported" not in imported.stdout, imported.stdout
    written = yaml.safe_load(inventory.read_text())
    assert written["hosts"]["hv1"]["switches"] == {"lan": "bridge0", "isolated": "bridge1"}
    assert written["hosts"]["hv1"]["nat"] == [{"from": "10.50.0.0/24", "out": "em0"}]
    for guest, vm in expected_vms.items():
        got = written["hosts"][guest]["vm"]
        assert (got["hypervisor"], got["memory"], got["disk"]["path"], got["nics"][0]["mac"]) == (
            vm["hypervisor"],
            vm["memory"],
            vm["disk"]["path"],
            vm["nics"][0]["mac"],
        )
    assert written["hosts"]["db01"]["vm"]["nics"][0]["address"] == "10.50.0.21"
    assert written["hosts"]["web01"]["vm"]["firewall"][0] == {"proto": "tcp", "port": [80, 443]}

    assert "is a comment: a deploy rewrites" not in imported.stdout, imported.stdout
    assert "/etc/vm.conf differs only in comments: left as is" in imported.stdout

    plan = bsdprov("plan", "--host", "hv1", "-i", str(inventory), "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr + inventory.read_text()
    assert ssh("hv1", "head -1 /etc/vm.conf").stdout == ADMIN.splitlines()[0] + "\n"
