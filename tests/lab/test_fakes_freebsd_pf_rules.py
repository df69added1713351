"""A bhyve hypervisor's NAT on a host whose rc.conf points rc.d/pf at another file
(``pf_rules``): bsdprov hooks its NAT into /etc/pf.conf and loads that file, which would replace
the admin's running ruleset and leave no NAT after a reboot, so ``check`` refuses the host."""

from __future__ import annotations

import shlex
from collections.abc import Callable

from bsdprov.inventory import parse_inventory
from bsdprov.render import file_content, render_host
from tests.lab import test_fakes as harness
from tests.lab.test_fakes import Host

shell = harness.shell
_tools = harness._tools
_templates = harness._templates
make_host = harness.make_host

INVENTORY = """
hosts:
  hv:
    os: freebsd
    interfaces: {em0: {addresses: [192.0.2.10/24]}}
    nat: [{from: 10.0.0.0/24, out: em0}]
    forwarding: {inet: true}
    bhyve:
      vm_dir: /vm
      switches:
        private: {address: 10.0.0.1/24}
"""
ADMIN_RULES = "block in quick on em0 proto tcp to port 23\npass out all\n"


def failed_pf_checks(host: Host) -> list[str]:
    """Install the rendered pf files and run the checks the lab's fakes answer (sysrc,
    pfctl); return the why of each that fails."""
    rendered = render_host(parse_inventory(INVENTORY, "inv.yaml").hosts["hv"])
    for spec in rendered.files:
        if spec.path.startswith("/etc/pf"):
            host.write(spec.path, file_content(spec, None))
    return [
        check.why
        for check in rendered.checks
        if check.argv[0] in ("sysrc", "pfctl") and host.run(shlex.join(check.argv)).rc != 0
    ]


def test_check_passes_with_rc_d_pf_loading_etc_pf_conf(make_host: Callable[..., Host]) -> None:
    assert failed_pf_checks(make_host("freebsd")) == []


def test_check_refuses_pf_rules_elsewhere(make_host: Callable[..., Host]) -> None:
    host = make_host("freebsd")
    host.write("/etc/rc.conf", 'pf_enable="YES"\npf_rules="/usr/local/etc/pf.conf"\n')
    host.write("/usr/local/etc/pf.conf", ADMIN_RULES)
    failed = failed_pf_checks(host)
    assert len(failed) == 1 and "pf_rules" in failed[0], failed
