"""Issue 14: a vm-bhyve datastore on ZFS (``vm_dir: zfs:pool/dataset``). Files go under the
dataset's mountpoint; each guest's dataset (and a zvol disk) is made before its NAME.conf is
installed, by lib/zfs-dataset, and undone only by the run that made it; check refuses what
vm-bhyve would refuse."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bsdprov.errors import InventoryError
from bsdprov.inventory import Inventory, parse_inventory
from bsdprov.plan import PlanOptions, plan_host
from bsdprov.render import file_content, render_host
from bsdprov.render.bhyve import ZFS_DATASET
from bsdprov.run import RunSettings, build_run
from bsdprov.savedplan import difference, fingerprint
from tests.test_bhyve import EXAMPLE_PATH

HELPER = ZFS_DATASET


def zfs_example(**bhyve: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(EXAMPLE_PATH.read_text())
    data["hosts"]["bhv1"]["bhyve"].update({"vm_dir": "zfs:zroot/vm", **bhyve})
    for name in ("bsd-guest", "obsd-guest"):
        data["hosts"][name]["vm"]["disk"]["path"] = f"/zroot/vm/{name}/disk0.img"
    return data


def load(data: dict[str, Any]) -> Inventory:
    return parse_inventory(yaml.safe_dump(data, sort_keys=False), "bhyve.yaml")


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(InventoryError) as caught:
        load(data)
    return str(caught.value)


def test_files_go_under_the_mountpoint_and_rc_conf_names_the_dataset() -> None:
    inventory = load(zfs_example())
    rendered = render_host(inventory.hosts["bhv1"], guests=inventory.guests("bhv1"))
    files = {spec.path: file_content(spec, None) for spec in rendered.files}
    assert 'vm_dir="zfs:zroot/vm"\n' in files["/etc/rc.conf"]
    assert "/zroot/vm/.config/system.conf" in files
    assert (
        'disk0_dev="file"\ndisk0_name="disk0.img"\n' in files["/zroot/vm/bsd-guest/bsd-guest.conf"]
    )
    helper = next(s for s in rendered.steps if "bhyve-apply" in " ".join(s.argv))
    assert helper.argv[2] == "/zroot/vm", "bhyve-apply reads the files in the directory"
    checks = [c.argv for c in rendered.checks]
    assert ("sh", HELPER, "mounted", "zroot/vm", "/zroot/vm") in checks


def test_each_guest_dataset_is_made_before_the_files_and_undone_by_its_run() -> None:
    data = zfs_example(mountpoint="/vm")
    for name in ("bsd-guest", "obsd-guest"):
        data["hosts"][name]["vm"]["disk"]["path"] = f"/vm/{name}/disk0.img"
    inventory = load(data)
    rendered = render_host(inventory.hosts["bhv1"], guests=inventory.guests("bhv1"))
    plan = plan_host(rendered, {}, existing=["/vm/obsd-guest"], options=PlanOptions())
    assert [m.argv for m in plan.makes] == [
        ("sh", HELPER, "make", "zroot/vm", "/vm", "zroot/vm/bsd-guest"),
    ], "obsd-guest's directory is there: nothing to make for it"
    assert plan.makes[0].undo == (
        "sh",
        HELPER,
        "destroy",
        "zroot/vm/bsd-guest",
        "bsd-guest.conf",
        "disk0.img",
    ), "what the run puts there may go with it; anything else keeps the dataset"
    # File disks inside the dataset are truncated after the files are installed, as before.
    assert ("truncate", "-s", "20G", "/vm/bsd-guest/disk0.img") in [s.argv for s in plan.prepare]
    run = build_run(plan, RunSettings("R1", "root"))
    assert run["make"].decode() == (
        f"sh {HELPER} make zroot/vm /vm zroot/vm/bsd-guest\n"
        f"sh {HELPER} destroy zroot/vm/bsd-guest bsd-guest.conf disk0.img\n"
    )


def test_a_zvol_disk_is_a_sparse_zvol_of_the_guests_dataset() -> None:
    data = zfs_example()
    data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = "/dev/zvol/zroot/vm/bsd-guest/disk0"
    inventory = load(data)
    rendered = render_host(inventory.hosts["bhv1"], guests=inventory.guests("bhv1"))
    files = {spec.path: file_content(spec, None) for spec in rendered.files}
    conf = files["/zroot/vm/bsd-guest/bsd-guest.conf"]
    assert 'disk0_dev="sparse-zvol"\ndisk0_name="disk0"\n' in conf
    plan = plan_host(rendered, {}, options=PlanOptions())
    made = [(m.argv, m.undo) for m in plan.makes]
    assert made[:2] == [
        (
            ("sh", HELPER, "make", "zroot/vm", "/zroot/vm", "zroot/vm/bsd-guest"),
            ("sh", HELPER, "destroy", "zroot/vm/bsd-guest", "bsd-guest.conf"),
        ),
        (
            ("sh", HELPER, "make", "zroot/vm", "/zroot/vm", "zroot/vm/bsd-guest/disk0", "20G"),
            ("sh", HELPER, "destroy", "zroot/vm/bsd-guest/disk0"),
        ),
    ], "the guest's dataset first, then its volume inside it"
    assert not any("/dev/zvol" in " ".join(s.argv) for s in plan.prepare), "no truncate"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["hosts"]["bsd-guest"]["vm"]["disk"].update(
                path="/dev/zvol/zroot/other/disk0"
            ),
            "a zvol disk lives in the guest's own dataset: write "
            "'/dev/zvol/zroot/vm/bsd-guest/disk0'",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["bhyve"].update(vm_dir="/var/vm"),
            "zvol disks need a ZFS datastore",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["bhyve"].update(vm_dir="/var/vm", mountpoint="/vm"),
            "a mountpoint is for a ZFS datastore",
        ),
        (
            lambda d: d["hosts"]["bhv1"]["bhyve"].update(vm_dir="zfs:zroot/vm dir"),
            "give 'zfs:' a dataset below a pool",
        ),
    ],
)
def test_check_refuses_what_vm_bhyve_would_refuse(change: Any, message: str) -> None:
    data = zfs_example()
    data["hosts"]["bsd-guest"]["vm"]["disk"]["path"] = "/dev/zvol/zroot/vm/bsd-guest/disk0"
    change(data)
    assert message in problems(data)


def test_a_saved_plan_covers_what_is_made_first() -> None:
    inventory = load(zfs_example())
    rendered = render_host(inventory.hosts["bhv1"], guests=inventory.guests("bhv1"))
    made = plan_host(rendered, {}, options=PlanOptions())
    none_made = plan_host(
        rendered,
        {},
        existing=["/zroot/vm/bsd-guest", "/zroot/vm/obsd-guest"],
        options=PlanOptions(),
    )
    assert none_made.makes == () and "make" not in fingerprint(none_made), "older files match"
    assert difference(fingerprint(none_made), made) == "its make differ from the saved plan's"
    assert difference(fingerprint(made), made) is None
