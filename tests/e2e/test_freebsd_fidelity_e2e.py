"""FreeBSD on the lab, end to end (issue 10 case 1): a MAC next to a static address, deployed
with the real command over SSH, holds after activation and after a boot from the files.

The boot here powers the host's interfaces off from inside (the lab's state files) and runs
rc.d/netif start then rc.d/routing start, as /etc/rc does; a new SSH login afterwards is the
proof that the host came back with its address.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bsdprov.lab.pytest_plugin import RebootInvariant, RunningLab
from tests.command import bsdprov

pytestmark = pytest.mark.e2e

MAC = "02:00:00:aa:bb:01"

# Power-on (NICs present, down, bare; no clones; no routes), then rc's network start.
BOOT = """
cd /var/lab/state/if || exit 1
for f in *; do
	t=$(awk '$1 == "type" { print $2 }' "$f")
	i=$(awk '$1 == "index" { print $2 }' "$f")
	case $t in
	ether)
		printf 'index %s\\ntype ether\\nup 0\\nmtu 1500\\n' "$i" >"$f"
		printf 'lladdr 52:54:00:00:00:%02x\\n' "$i" >>"$f"
		;;
	loop) printf 'index %s\\ntype loop\\nup 1\\ninet6 ::1 128\\nmtu 16384\\n' "$i" >"$f" ;;
	*) rm -f "$f" ;;
	esac
done
: >/var/lab/state/routes
service netif start >/dev/null
service routing start >/dev/null 2>&1
exit 0
"""


def test_a_mac_beside_a_static_address_survives_activation_and_boot(
    lab: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    lab.reset()
    name = next(n for n in lab.names if lab.os_of(n) == "freebsd")
    data = yaml.safe_load(lab.inventory.read_text())
    (nic,) = data["hosts"][name]["interfaces"]
    data["hosts"][name]["interfaces"][nic].update({"mac": MAC, "mtu": 1450})
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    (address,) = data["hosts"][name]["interfaces"][nic]["addresses"]
    ip = address.split("/")[0]

    planned = bsdprov("plan", "--host", name, "-i", str(inventory))
    assert f'+ifconfig_{nic}_alias0="ether {MAC}"\n' in planned.stdout, planned.stdout
    deployed = bsdprov("deploy", "--host", name, "-i", str(inventory), "--confirm-timeout", "30")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    for when in ("activation", "boot"):
        shown = lab.ssh(name, f"ifconfig {nic}").stdout
        assert f"\tether {MAC}\n" in shown, (when, shown)
        assert f"\tinet {ip} " in shown, (when, shown)
        assert " mtu 1450\n" in shown, (when, shown)
        if when == "activation":
            lab.ssh(name, BOOT)
    reboot_invariant(lab, name)
