"""lib/bhyve-apply under dash, busybox sh, mksh and posh, with fake sysrc/vm/pgrep/pkill/ifconfig.

What a user relies on: the same activation step brings vm-bhyve to what the installed files say,
so a rollback that restores the old files undoes it: with vm_enable on, the listed guests of
vm_list that do not run are started; with it off, the guests that run are stopped (through their
bhyve process when vm-bhyve no longer knows them) and the switches system.conf no longer lists
lose their bridge.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.onhost.harness import REMOTE, SHELLS

pytestmark = pytest.mark.onhost

# Each fake logs its argv. sysrc answers -n from $VM_ENABLE/$VM_LIST and -inqf by sourcing
# the file; pgrep -f matches "bhyve: NAME" for each NAME of $RUNNING; ifconfig vm-S answers
# for each S of $BRIDGES with one member line per word of $MEMBERS; each tapN=DESCR word of
# $TAPS is a tap with that description (vm-bhyve's vmnet/GUEST/N/SWITCH); -l lists them all.
FAKES = {
    "sysrc": """#!/bin/sh
case $1 in
-n) case $2 in vm_enable) echo "$VM_ENABLE" ;; vm_list) echo "$VM_LIST" ;; esac ;;
-inqf) [ -f "$2" ] && (. "$2" && eval "echo \\"\\${$3:-}\\"") ;;
esac
""",
    "vm": '#!/bin/sh\necho "vm $*" >>"$CALLS"\n',
    "pkill": '#!/bin/sh\necho "pkill $*" >>"$CALLS"\n',
    "pgrep": """#!/bin/sh
shift
for n in $RUNNING; do echo "bhyve: $n"; done | grep -Eq -- "$1"
""",
    "ifconfig": """#!/bin/sh
if [ "$*" = -l ]; then
    for b in $BRIDGES; do printf 'vm-%s ' "$b"; done
    for t in ${TAPS:-}; do printf '%s ' "${t%%=*}"; done
    echo em0 em1
    exit 0
fi
if [ $# -eq 1 ]; then
    for t in ${TAPS:-}; do
        [ "${t%%=*}" = "$1" ] || continue
        echo "$1: flags=8943<UP,BROADCAST,RUNNING,PROMISC,SIMPLEX,MULTICAST> metric 0 mtu 1500"
        echo "	description: ${t#*=}"
        exit 0
    done
    case $1 in em*) echo "$1: flags=8843<UP> metric 0 mtu 1500"; exit 0 ;; esac
    case " $BRIDGES " in *" ${1#vm-} "*) ;; *) exit 1 ;; esac
    echo "$1: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500"
    for a in ${INETS:-}; do echo "	inet $a netmask 0xffffff00 broadcast 10.0.0.255"; done
    for m in $MEMBERS; do echo "	member: $m flags=143<LEARNING,DISCOVER,AUTOEDGE,AUTOPTP>"; done
    exit 0
fi
echo "ifconfig $*" >>"$CALLS"
""",
}
Run = Callable[..., list[str]]
SYSTEM_CONF = 'switch_list="public"\ntype_public="standard"\nports_public="em0 em1"\n'


@pytest.fixture(params=SHELLS, ids=[" ".join(s) for s in SHELLS])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in FAKES.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    root = tmp_path / "root"
    for guest in ("g1", "g2"):
        (root / f"vm/{guest}").mkdir(parents=True)
        (root / f"vm/{guest}/{guest}.conf").write_text('loader="bhyveload"\n')
    (root / "vm/.config").mkdir()
    (root / "vm/.config/system.conf").write_text(SYSTEM_CONF)
    calls = tmp_path / "calls"

    def run(
        enable: str,
        vm_list: str,
        running: str,
        bridges: str,
        members: str,
        taps: str = "",
        inets: str = "",
    ) -> list[str]:
        calls.write_text("")
        env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "BSDPROV_ROOT": str(root),
            "CALLS": str(calls),
            "VM_ENABLE": enable,
            "VM_LIST": vm_list,
            "RUNNING": running,
            "BRIDGES": bridges,
            "MEMBERS": members,
            "TAPS": taps,
            "INETS": inets,
        }
        proc = subprocess.run(
            [*request.param, str(REMOTE / "lib" / "bhyve-apply"), "/vm", "public", "g1 g2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert proc.returncode == 0, proc.stderr
        return calls.read_text().splitlines()

    run.root = root  # type: ignore[attr-defined]
    return run


def test_enabled_inits_adds_a_new_port_and_starts_listed_guests_not_running(run: Run) -> None:
    calls = run("YES", "g1 g2", "g2", "public", "em0 tap0", "tap0=vmnet/g2/0/public")
    assert calls == ["vm init", "ifconfig vm-public addm em1", "vm start g1"]


def test_a_guest_out_of_vm_list_is_not_started(run: Run) -> None:
    assert run("YES", "g2", "", "public", "em0 em1") == ["vm init", "vm start g2"]


def test_a_running_guest_whose_file_is_gone_is_stopped_through_bhyve(run: Run) -> None:
    (run.root / "vm/g1/g1.conf").unlink()  # type: ignore[attr-defined]
    calls = run("YES", "g2", "g1 g2", "public", "em0 em1")
    assert calls == ["vm init", "pkill -TERM -f ^bhyve: g1$"]


def test_disabled_stops_the_guests_and_removes_an_unlisted_switch(run: Run) -> None:
    (run.root / "vm/g1/g1.conf").unlink()  # type: ignore[attr-defined]
    (run.root / "vm/.config/system.conf").unlink()  # type: ignore[attr-defined]
    calls = run("NO", "", "g1 g2", "public", "em0 tap0")
    assert calls == [
        "pkill -TERM -f ^bhyve: g1$",
        "vm stop g2",
        "ifconfig vm-public deletem em0",
        "ifconfig vm-public deletem tap0",
        "ifconfig vm-public destroy",
    ]


def test_disabled_keeps_a_switch_system_conf_still_lists(run: Run) -> None:
    assert run("", "", "", "public", "em0") == []


def test_bad_arguments_are_refused() -> None:
    proc = subprocess.run(
        ["sh", str(REMOTE / "lib" / "bhyve-apply"), "/vm"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.startswith("usage: sh ")


def test_a_port_system_conf_no_longer_lists_leaves_the_bridge_but_a_guests_tap_stays(
    run: Run,
) -> None:
    (run.root / "vm/.config/system.conf").write_text(  # type: ignore[attr-defined]
        'switch_list="public"\ntype_public="standard"\nports_public="em0"\n'
    )
    calls = run("YES", "", "g2", "public", "em0 em1 tap0", "tap0=vmnet/g2/0/public")
    assert calls == ["vm init", "ifconfig vm-public deletem em1"]


def test_a_switch_system_conf_dropped_is_torn_down_while_enabled(run: Run) -> None:
    (run.root / "vm/.config/system.conf").write_text('switch_list=""\n')  # type: ignore[attr-defined]
    calls = run("YES", "", "", "public", "em0 em1")
    assert calls == [
        "vm init",
        "ifconfig vm-public deletem em0",
        "ifconfig vm-public deletem em1",
        "ifconfig vm-public destroy",
    ]


def test_a_running_guests_tap_goes_back_into_its_recreated_switch(run: Run) -> None:
    # A rollback brought the switch back (vm init made the bridge with its ports): the tap of
    # g2, still running with its NIC on "public", joins it again; a stopped guest's does not.
    taps = "tap0=vmnet/g2/0/public tap1=vmnet/g1/0/public tap2=vmnet/g2/1/other"
    calls = run("YES", "", "g2", "public", "em0 em1", taps)
    assert calls == ["vm init", "ifconfig vm-public addm tap0"]


def test_a_switch_gets_its_address_and_loses_one_system_conf_dropped(run: Run) -> None:
    conf = run.root / "vm/.config/system.conf"  # type: ignore[attr-defined]
    conf.write_text(SYSTEM_CONF + 'addr_public="10.0.0.1/24"\n')
    calls = run("YES", "", "", "public", "em0 em1")
    assert calls == ["vm init", "ifconfig vm-public inet 10.0.0.1/24"]
    assert run("YES", "", "", "public", "em0 em1", inets="10.0.0.1") == ["vm init"]
    conf.write_text(SYSTEM_CONF)
    calls = run("YES", "", "", "public", "em0 em1", inets="10.0.0.1")
    assert calls == ["vm init", "ifconfig vm-public inet 10.0.0.1 -alias"]
