"""bsdprov.lab.snapshot: a lab host's live state as a comparable value, and its diff.

Most cases write the fakes' state files by hand (their layout is in lib.sh); the last ones run
the real fakes under dash in a temporary root, as tests/lab/test_fakes.py does.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bsdprov.lab.snapshot import (
    file_bytes,
    files_difference,
    live_state,
    state_difference,
)
from tests.lab.test_fakes import APPLETS, FAKES, SHELLS, _build_root, _need

STATE = "var/lab/state"


def write(root: Path, path: str, text: str) -> None:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)


def host(root: Path, **files: str) -> Path:
    """A host root with a vio0 and lo0, a default route and pf, plus ``files`` (state paths)."""
    write(root, "var/lab/hostname", "hv1.example.org\n")
    write(root, f"{STATE}/if/vio0", "index 1\ntype ether\nup 1\nmtu 1500\n"
          "lladdr 52:54:00:00:00:01\ninet 192.0.2.10 24\n")  # fmt: skip
    write(root, f"{STATE}/if/lo0", "index 2\ntype loop\nup 1\nmtu 32768\ninet6 ::1 128\n")
    write(root, f"{STATE}/routes", "inet 0.0.0.0 0 192.0.2.1 UGS vio0 192.0.2.10 8\n")
    write(root, f"{STATE}/sysctl", "net.inet.ip.forwarding=0\nhw.ncpu=2\n")
    write(root, f"{STATE}/pf/enabled", "1\n")
    write(root, f"{STATE}/pf/main", "block return all\npass all flags S/SA\n")
    for path, text in files.items():
        write(root, f"{STATE}/{path.replace('__', '/')}", text)
    return root


def test_a_state_equals_itself_and_has_no_difference(tmp_path: Path) -> None:
    root = host(tmp_path)
    assert live_state(root) == live_state(root)
    assert state_difference(live_state(root), live_state(root)) == ""
    assert hash(live_state(root)) == hash(live_state(root)), "a frozen value"


def test_each_part_of_the_state_shows_in_the_difference(tmp_path: Path) -> None:
    root = host(tmp_path / "a")
    before = live_state(root)
    write(root, f"{STATE}/if/vio0", "index 1\ntype ether\nup 1\nmtu 1500\n"
          "lladdr 52:54:00:00:00:01\ninet 192.0.2.10 24\ninet 203.0.113.5 32\n")  # fmt: skip
    write(root, f"{STATE}/routes", "")
    write(root, f"{STATE}/sysctl", "net.inet.ip.forwarding=1\nhw.ncpu=2\n")
    write(root, f"{STATE}/pf/enabled", "0\n")
    write(root, f"{STATE}/pf/anchors/vm/web01/_rules", "pass in on web01_vm proto tcp\n")
    write(root, f"{STATE}/rc/dhcpd", "")
    write(root, "var/lab/hostname", "other\n")
    diff = state_difference(before, live_state(root))
    for line in (
        "+if vio0: inet 203.0.113.5 32",
        "-route: inet 0.0.0.0 0 192.0.2.1 UGS vio0 192.0.2.10 8",
        "-sysctl: net.inet.ip.forwarding=0",
        "+sysctl: net.inet.ip.forwarding=1",
        "-pf: enabled",
        "+pf: disabled",
        "+pf anchor vm/web01: pass in on web01_vm proto tcp",
        "+daemon: dhcpd",
        "-hostname: hv1.example.org",
        "+hostname: other",
    ):
        assert line in diff.splitlines(), diff


def test_interface_indexes_are_left_out_and_link_gateways_named(tmp_path: Path) -> None:
    # The same bridge and host route, once made by a deploy (index 5), once by a boot (3).
    a = host(tmp_path / "a", **{
        "if__bridge0": "index 5\ntype bridge\nup 1\nmtu 1500\nmember vio0\n",
        "routes": "inet 198.51.100.1 32 link#1 UHCS vio0 192.0.2.10 8\n",
    })  # fmt: skip
    b = host(tmp_path / "b", **{
        "if__bridge0": "index 3\ntype bridge\nup 1\nmtu 1500\nmember vio0\n",
        "routes": "inet 198.51.100.1 32 link#1 UHCS vio0 192.0.2.10 8\n",
    })  # fmt: skip
    assert state_difference(live_state(a), live_state(b)) == ""
    assert "inet 198.51.100.1 32 link#vio0 UHCS vio0 192.0.2.10 8" in live_state(a).routes
    # A route through another interface is a real difference.
    write(b, f"{STATE}/routes", "inet 198.51.100.1 32 link#3 UHCS bridge0 192.0.2.10 8\n")
    assert "+route: inet 198.51.100.1 32 link#bridge0" in state_difference(
        live_state(a), live_state(b)
    )


def test_the_order_of_keys_is_left_out_but_not_the_order_of_addresses(tmp_path: Path) -> None:
    a = host(tmp_path / "a")
    b = host(tmp_path / "b")
    write(b, f"{STATE}/if/vio0", "inet 192.0.2.10 24\nup 1\nindex 1\ntype ether\nmtu 1500\n"
          "lladdr 52:54:00:00:00:01\n")  # fmt: skip
    assert state_difference(live_state(a), live_state(b)) == ""
    for root, first, second in (
        (a, "192.0.2.10 24", "192.0.2.11 24"),
        (b, "192.0.2.11 24", "192.0.2.10 24"),
    ):
        write(root, f"{STATE}/if/vio0", f"index 1\ntype ether\ninet {first}\ninet {second}\n")
    diff = state_difference(live_state(a), live_state(b)).splitlines()
    assert "+if vio0: inet 192.0.2.11 24" in diff and "-if vio0: inet 192.0.2.11 24" in diff


def test_a_vms_tap_is_named_by_its_vm_and_its_random_mac_left_out(tmp_path: Path) -> None:
    def hypervisor(root: Path, tap: str, index: int, vm_id: int) -> Path:
        return host(root, **{
            f"if__{tap}": f"index {index}\ntype tap\nup 1\nmtu 1500\n"
            f"lladdr fe:e1:ba:d0:00:{index:02x}\ndescr vm{vm_id}-if0-web01\ngroup web01_vm\n",
            "if__bridge0": f"index 9\ntype bridge\nup 1\nmtu 1500\nmember vio0\nmember {tap}\n",
            "vm__vmd": "2\n",
            "vm__web01": f"id {vm_id}\nstate running\nmem 1024\nenable 1\nowner -\n"
            f"if 0 tap lan 02:00:00:00:01:01 1 -\nconf 1\ntty ttyp{vm_id}\n"
            f"pid {47000 + vm_id}\ntap 0 {tap}\n",
        })  # fmt: skip

    a = live_state(hypervisor(tmp_path / "a", "tap1", 7, 2))
    b = live_state(hypervisor(tmp_path / "b", "tap0", 4, 1))
    assert state_difference(a, b) == ""
    assert "if tap(web01/if0): lladdr (random)" in a.lines()
    assert "if bridge0: member tap(web01/if0)" in a.lines()
    # A MAC the configuration set is recorded as it is.
    c = hypervisor(tmp_path / "c", "tap0", 4, 1)
    tap = c / STATE / "if/tap0"
    tap.write_text(tap.read_text().replace("fe:e1:ba:d0:00:04", "02:00:00:00:00:99"))
    assert "+if tap(web01/if0): lladdr 02:00:00:00:00:99" in state_difference(a, live_state(c))


def test_a_stopped_vm_and_a_stopped_vmd_are_differences(tmp_path: Path) -> None:
    root = host(tmp_path, vm__vmd="1\n", vm__db01="id 1\nstate running\nenable 1\n")
    before = live_state(root)
    write(root, f"{STATE}/vm/db01", "id 1\nstate stopped\nenable 1\n")
    (root / STATE / "vm/vmd").unlink()
    diff = state_difference(before, live_state(root))
    assert "-vm db01: state running" in diff and "+vm db01: state stopped" in diff
    assert "-vmd: running" in diff and "+vmd: stopped" in diff


def test_an_empty_or_missing_state_reads_as_powered_off(tmp_path: Path) -> None:
    state = live_state(tmp_path)
    assert state.interfaces == () and state.routes == () and not state.pf_enabled
    assert state.lines()[0] == "hostname: "


def test_managed_files_compare_byte_for_byte(tmp_path: Path) -> None:
    write(tmp_path, "etc/rc.conf", 'hostname="a"\n')
    before = file_bytes(tmp_path, ["/etc/rc.conf", "/etc/mygate"])
    assert before == {"/etc/rc.conf": b'hostname="a"\n', "/etc/mygate": None}
    assert files_difference(before, before) == ""
    write(tmp_path, "etc/rc.conf", 'hostname="a" \n')
    write(tmp_path, "etc/mygate", "192.0.2.1\n")
    diff = files_difference(before, file_bytes(tmp_path, ["/etc/rc.conf", "/etc/mygate"]))
    assert "/etc/mygate: created" in diff
    assert "/etc/rc.conf: changed\n--- before\n+++ after\n" in diff
    assert '+hostname="a" ' in diff


# ---- on the real fakes ----------------------------------------------------------------------


@pytest.fixture
def dash_root(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An OpenBSD host root made by init-state.sh under dash, and the env to run its fakes."""
    _need(SHELLS["dash"][0])
    tools = tmp_path / "tools"
    tools.mkdir()
    for applet in APPLETS:
        (tools / applet).symlink_to("/usr/bin/busybox")
    (tools / "sh").symlink_to(SHELLS["dash"][0])
    root = tmp_path / "root"
    _build_root(root, "openbsd", SHELLS["dash"])
    env = {"LAB_ROOT": str(root), "PATH": f"{root}/sbin:{root}/bin:{root}/usr/sbin:{tools}"}
    args = ("-n", "obsd1", "openbsd", "vio0", "198.51.100.23/24", "198.51.100.1")
    subprocess.run([*SHELLS["dash"], str(FAKES / "init-state.sh"), *args], env=env, check=True)
    return root, env


def test_the_fakes_state_reads_and_changes_show(dash_root: tuple[Path, dict[str, str]]) -> None:
    root, env = dash_root
    before = live_state(root)
    assert "if vio0: inet 198.51.100.23 24" in before.lines()
    assert before.pf_enabled and before.hostname == "obsd1"

    def run(command: str) -> None:
        subprocess.run([*SHELLS["dash"], "-c", command], env=env, check=True, capture_output=True)

    run("ifconfig vether0 create && ifconfig vether0 inet 10.0.0.1/24 up")
    run("ifconfig vether0 destroy")
    assert state_difference(before, live_state(root)) == "", "created and destroyed: no trace"
    run("ifconfig vio0 inet 203.0.113.9/32 alias")
    assert "+if vio0: inet 203.0.113.9 32" in state_difference(before, live_state(root))
