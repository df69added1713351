"""``bsdprov import``'s core beyond the round trip: what is not modelled is reported and left
unmanaged, the probe's output, and ``--write``'s merge keeping the inventory's comments."""

from __future__ import annotations

from pathlib import Path

from bsdprov.adopt import import_host, public_entry
from bsdprov.adopt.script import QCOW2_MAGIC, import_script, parse_import, size_text
from bsdprov.adopt.yamltext import merged_inventory
from bsdprov.inventory import load_inventory, parse_inventory
from bsdprov.render.base import MANAGED_HEADER
from tests.test_adopt_roundtrip import rendered_files
from tests.test_architecture import FORBIDDEN, PACKAGE, imported_roots

EXAMPLE = Path(__file__).parent.parent / "inventories" / "example.yaml"


def test_adopt_core_does_no_io() -> None:
    core = [p for p in sorted((PACKAGE / "adopt").glob("*.py")) if p.name != "run.py"]
    assert {p.name: sorted(imported_roots(p) & FORBIDDEN) for p in core} == {
        p.name: [] for p in core
    }


def test_an_unmodelled_line_is_listed_and_its_interface_left_out() -> None:
    files = {
        "/etc/hostname.em0": "# uplink\ninet 192.0.2.10 255.255.255.0\n",
        "/etc/hostname.em2": "# spare port\nmedia 100baseTX\nup\n",
        "/etc/mygate": "192.0.2.1\n",
    }
    imported = import_host("gw", "openbsd", "7.6", files)
    notes = [str(n) for n in imported.notes]
    assert (
        "/etc/hostname.em2: line 2 'media 100baseTX' is not modelled: the host keeps it unmanaged"
        in notes
    )
    assert "/etc/hostname.em2 leaves em2 out of the entry (unmanaged)" in notes
    # em0's file differs from bsdprov's only by comments: it is left as is, comment and all.
    assert not any("uplink" in n for n in notes)
    assert not any("spare port" in n for n in notes)
    entry = public_entry(imported)
    assert list(entry["interfaces"]) == ["em0"]
    assert entry["routes"] == [{"to": "default", "via": "192.0.2.1"}]
    # The hand-written files differ from bsdprov's only in comments: nothing is rewritten.
    assert imported.rewrites == (
        "/etc/hostname.em0 differs only in comments: left as is",
        "/etc/mygate differs only in comments: left as is",
    )


def test_an_admin_comment_in_vm_conf_is_kept() -> None:
    inventory = load_inventory(EXAMPLE)
    files = rendered_files(inventory, inventory.hosts["hv1"])
    files["/etc/vm.conf"] = "# our VMs\n" + files["/etc/vm.conf"]
    sizes = {g.vm.disk.path: g.vm.disk.size for g in inventory.guests("hv1")}
    imported = import_host("hv1", "openbsd", "7.6", files, None, sizes, inventory.hosts)
    assert [str(n) for n in imported.notes] == []
    assert imported.rewrites == ("/etc/vm.conf differs only in comments: left as is",)
    assert "switches" in public_entry(imported), "a comment leaves nothing unmanaged"


def test_a_comment_in_a_file_a_deploy_rewrites_is_reported() -> None:
    files = {
        # "inet" with a prefix length: bsdprov writes the netmask form, so it rewrites the file.
        "/etc/hostname.em0": "# uplink\ninet 192.0.2.10/24\n",
        "/etc/mygate": "192.0.2.1\n",
    }
    imported = import_host("gw", "openbsd", "7.6", files)
    notes = [str(n) for n in imported.notes]
    assert imported.rewrites[0].startswith("/etc/hostname.em0: a first deploy rewrites it")
    assert (
        "/etc/hostname.em0: line 1 '# uplink' is a comment: a deploy rewrites this file "
        "without it" in notes
    )


def test_freebsd_keeps_the_admins_static_routes_and_reports_them() -> None:
    rc = (
        'hostname="fb"\nifconfig_vtnet0="inet 192.0.2.5 netmask 255.255.255.0"\n'
        'static_routes="office"\nroute_office="-net 10.9.0.0/16 192.0.2.254"\n'
        'defaultrouter="192.0.2.1"\ngateway_enable="YES"\nsshd_enable="YES"\n'
    )
    imported = import_host("fb", "freebsd", "14.1-RELEASE", {"/etc/rc.conf": rc})
    notes = "\n".join(str(n) for n in imported.notes)
    assert "'route_office=-net 10.9.0.0/16 192.0.2.254' is the admin's static route" in notes
    assert "line 6 'gateway_enable=YES' is not modelled: a deploy leaves it as it is" in notes
    assert public_entry(imported)["routes"] == [{"to": "default", "via": "192.0.2.1"}]
    # bsdprov adds ifconfig_vtnet0_ipv6="" (so that no ifconfig_DEFAULT reaches it).
    assert imported.rewrites == (
        "/etc/rc.conf: a first deploy rewrites it (the imported keys read back the same): "
        "'+ifconfig_vtnet0_ipv6=\"\"'",
    )


def test_freebsd_ifconfig_default_is_reported_with_what_a_deploy_does_to_it() -> None:
    rc = 'ifconfig_DEFAULT="SYNCDHCP accept_rtadv"\nifconfig_vtnet0="inet 192.0.2.5/24"\n'
    imported = import_host("fb", "freebsd", "14.1", {"/etc/rc.conf": rc})
    assert "it no longer reaches the imported interfaces" in str(imported.notes[0])


def test_netbsd_rc_conf_ifconfig_variable_leaves_the_interface_unmanaged() -> None:
    files = {
        "/etc/ifconfig.wm0": f"{MANAGED_HEADER}\ninet 192.0.2.9 netmask 255.255.255.0\n",
        "/etc/rc.conf": 'ifconfig_wm0="inet 192.0.2.99 netmask 255.255.255.0"\n',
    }
    imported = import_host("nb", "netbsd", "10.0", files)
    assert public_entry(imported)["interfaces"] == {}
    assert any("replaces /etc/ifconfig.wm0 at boot" in str(n) for n in imported.notes)


def test_the_import_script_reports_disk_sizes() -> None:
    assert "sed -n" in import_script() and "/etc/hostname.*" in import_script()
    header = QCOW2_MAGIC + bytes(20) + (20 * 1024**3).to_bytes(8, "big")
    out = (
        "BSDPROV-PROBE 1\nuname OpenBSD 7.6 amd64\nBSDPROV-PROBE-END\n"
        f"disk 196608 {','.join(str(b) for b in header)} /var/vmm/a.qcow2\n"
        "disk 1048577 1,2,3 /var/vmm/b.raw\n"
    ).encode()
    facts, sizes = parse_import(out, "hv")
    assert facts.os == "openbsd"
    assert sizes == {"/var/vmm/a.qcow2": "20G", "/var/vmm/b.raw": "2M"}
    assert size_text(512 * 1024 * 1024) == "512M"


def test_write_keeps_comments_and_leaves_a_host_that_says_the_same_untouched() -> None:
    text = EXAMPLE.read_text()
    inventory = load_inventory(EXAMPLE)
    files = {
        "/etc/rc.conf": (
            'hostname="fbsd1.example.org"\nifconfig_vtnet0="inet 203.0.113.10 netmask '
            '255.255.255.255"\nstatic_routes="bsdprov_gw_vtnet0"\n'
            'route_bsdprov_gw_vtnet0="-host 198.51.100.1 -interface vtnet0"\n'
            'defaultrouter="198.51.100.1"\n'
        )
    }
    same = import_host("fbsd1", "freebsd", "14.1", files, "203.0.113.10")
    assert merged_inventory(text, same, inventory.hosts) == text

    new = import_host("fbsd9", "freebsd", "14.1", files, "203.0.113.19")
    merged = merged_inventory(text, new, inventory.hosts)
    assert merged.startswith(text.splitlines()[0])
    assert "# A DHCP guest: routes come from the lease" in merged
    loaded = parse_inventory(merged, "merged")
    assert (
        loaded.hosts["fbsd9"].interfaces["vtnet0"] == inventory.hosts["fbsd1"].interfaces["vtnet0"]
    )
    assert loaded.hosts["fbsd9"].routes == inventory.hosts["fbsd1"].routes


def test_openbsd_hand_forms_read_back_and_are_rewritten_with_the_same_settings() -> None:
    files = {
        "/etc/hostname.em0": "inet 192.0.2.10 255.255.255.0 NONE\ninet6 2001:db8::10/64\n",
        "/etc/mygate": "192.0.2.1\n",
        "/etc/myname": "gw.example.org\n",
    }
    imported = import_host("gw", "openbsd", "7.6", files)
    entry = public_entry(imported)
    assert entry["interfaces"] == {"em0": {"addresses": ["192.0.2.10/24", "2001:db8::10/64"]}}
    assert entry["hostname"] == "gw.example.org"
    assert imported.notes == ()
    assert imported.rewrites[0] == (
        "/etc/hostname.em0: a first deploy rewrites it (the imported keys read back the same): "
        "'-inet 192.0.2.10 255.255.255.0 NONE' '-inet6 2001:db8::10/64' "
        "'+inet 192.0.2.10 255.255.255.0' '+inet6 2001:db8::10 64'"
    )


def test_a_route_line_bsdprov_would_not_write_leaves_its_interface_unmanaged() -> None:
    # The gateway is on em0's subnet: bsdprov writes such a route only for an onlink gateway.
    files = {
        "/etc/hostname.vio0": (
            "inet 10.0.0.5 255.255.255.0\n!route -qn add -inet 10.0.0.1 -cloning -link -iface $if\n"
        ),
        "/etc/mygate": "10.0.0.1\n",
    }
    imported = import_host("lab", "openbsd", "7.6", files)
    notes = [str(n) for n in imported.notes]
    assert notes[0] == (
        "/etc/hostname.vio0: line 2 '!route -qn add -inet 10.0.0.1 -cloning -link -iface $if' "
        "routes to a gateway on the subnet: not modelled, vio0 left unmanaged"
    )
    assert public_entry(imported)["interfaces"] == {}
    assert "routes" not in public_entry(imported), "its gateway is on no managed interface"
    assert "routes default via 10.0.0.1 are left unmanaged (no 'routes' key)" in notes[-1]


def test_freebsd_hand_forms_and_what_is_not_modelled() -> None:
    rc = 'ifconfig_em0="inet 192.0.2.10/24 up"\nifconfig_em1="SYNCDHCP"\n'
    imported = import_host("fb", "freebsd", "14.1", {"/etc/rc.conf": rc})
    assert public_entry(imported)["interfaces"] == {"em0": {"addresses": ["192.0.2.10/24"]}}
    assert "/etc/rc.conf: line 2 'ifconfig_em1=SYNCDHCP' is not modelled" in str(imported.notes[0])
    assert imported.rewrites == (
        "/etc/rc.conf: a first deploy rewrites it (the imported keys read back the same): "
        "'-ifconfig_em0=\"inet 192.0.2.10/24 up\"' "
        "'+ifconfig_em0=\"inet 192.0.2.10 netmask 255.255.255.0\"' '+ifconfig_em0_ipv6=\"\"'",
    )


def test_an_unmodelled_vm_conf_statement_leaves_the_vmd_part_unmanaged() -> None:
    files = {
        "/etc/hostname.em0": "inet 192.0.2.10 255.255.255.0\n",
        "/etc/hostname.bridge0": "add em0\nup\n",
        "/etc/sysctl.conf": "net.inet.ip.forwarding=1\n",
        "/etc/vm.conf": 'switch "lan" {\n\tinterface bridge0\n}\nvm "a" {\n\towner admin\n}\n',
    }
    imported = import_host("hv", "openbsd", "7.6", files)
    notes = [str(n) for n in imported.notes]
    assert (
        "/etc/vm.conf: line 5 'owner admin' is not modelled: the host keeps it unmanaged" in notes
    )
    entry = public_entry(imported)
    assert "switches" not in entry and imported.guests == {}
    assert entry["forwarding"] == {"inet": True}


def test_what_does_not_validate_is_left_unmanaged_not_a_crash() -> None:
    files = {
        "/etc/hostname.em0": 'inet 192.0.2.10 255.255.255.0\ndescription "ISP\'s uplink"\n',
        "/etc/hostname.em1": "inet 10.0.0.1 255.255.255.0\n",
        "/etc/hostname.bridge0": "add em0\nup\n",
        "/etc/mygate": "192.0.2.1\n",
    }
    imported = import_host("gw", "openbsd", "7.6", files)
    notes = [str(n) for n in imported.notes]
    assert notes[0].startswith("interface em0 is left unmanaged: it does not validate (")
    assert notes[1].startswith("interface bridge0 is left unmanaged: it does not validate (")
    assert list(public_entry(imported)["interfaces"]) == ["em1"]
    assert "routes" not in public_entry(imported)


def test_a_mygate_bsdprov_cannot_write_leaves_routes_and_route_lines_unmanaged() -> None:
    files = {
        "/etc/hostname.em0": "inet 192.0.2.10 255.255.255.0\n",
        "/etc/hostname.em1": (
            "inet 10.0.0.5 255.255.255.0\n!route -qn add -inet 10.9.0.0/16 10.0.0.1\n"
        ),
        "/etc/mygate": "192.0.2.1\n192.0.2.254\n",
    }
    imported = import_host("gw", "openbsd", "7.6", files)
    notes = [str(n) for n in imported.notes]
    assert (
        notes[0]
        == "/etc/mygate: line 2 '192.0.2.254' is a second gateway: routes are left unmanaged"
    )
    assert notes[1] == (
        "interface em1 is left unmanaged: its file adds routes, and routes are unmanaged"
    )
    assert list(public_entry(imported)["interfaces"]) == ["em0"]
    assert "routes" not in public_entry(imported)


def test_freebsd_interface_keys_a_deploy_would_remove_leave_it_unmanaged() -> None:
    rc = (
        'ifconfig_em0="inet 192.0.2.10 netmask 255.255.255.0"\n'
        'ifconfig_em0_aliases="inet 192.0.2.20-25/32"\n'  # removed by ifconfig_em0_* otherwise
        'ifconfig_em1="up"\nvlans_em1="101"\nifconfig_em1_101="inet 10.1.0.1/24"\n'
        'ifconfig_em2="inet 10.2.0.1/24"\n'
        'defaultrouter="NO"\n'
    )
    imported = import_host("fb", "freebsd", "14.1", {"/etc/rc.conf": rc})
    entry = public_entry(imported)
    assert list(entry["interfaces"]) == ["em2"]
    notes = "\n".join(str(n) for n in imported.notes)
    assert "'ifconfig_em0_aliases=inet 192.0.2.20-25/32' is not modelled" in notes
    assert "leaves em1 out of the entry (unmanaged)" in notes
    assert "routes" not in entry, "no route: unmanaged, the admin's defaultrouter stays"


def hv1_files() -> tuple[dict[str, str], dict[str, str]]:
    inventory = load_inventory(EXAMPLE)
    sizes = {g.vm.disk.path: g.vm.disk.size for g in inventory.guests("hv1")}
    return rendered_files(inventory, inventory.hosts["hv1"]), sizes


def test_vmd_files_bsdprov_would_write_otherwise_leave_the_vmd_part_unmanaged() -> None:
    files, sizes = hv1_files()
    # Without the guests' own entries, their anchors' anti-spoofing rules would change.
    imported = import_host("hv1", "openbsd", "7.6", files, None, sizes, {})
    notes = [str(n) for n in imported.notes]
    assert notes[0] == (
        "/etc/pf.vm/web01.conf: line 8 'pass in quick on web01_vm inet from 203.0.113.21' is "
        "not what bsdprov writes: the vmd part (switches, VMs, NAT, DHCP, pf) is left "
        "unmanaged; import the VM's host first: its addresses make the anchor's anti-spoofing "
        "rules"
    )
    entry = public_entry(imported)
    assert "switches" not in entry and imported.guests == {}
    assert entry["forwarding"] == {"inet": True}


def test_a_pf_conf_without_the_include_or_a_foreign_router_leave_the_vmd_part_unmanaged() -> None:
    files, sizes = hv1_files()
    known = load_inventory(EXAMPLE).hosts
    no_include = {**files, "/etc/pf.conf": "set skip on lo\npass\n"}
    imported = import_host("hv1", "openbsd", "7.6", no_include, None, sizes, known)
    assert str(imported.notes[0]) == (
        "/etc/pf.conf '(no line include \"/etc/pf.bsdprov.conf\")' is not modelled: "
        "the host keeps it unmanaged"
    )
    assert "switches" not in public_entry(imported)

    router = files["/etc/dhcpd.conf"].replace("routers 10.50.0.1", "routers 10.50.0.254")
    imported = import_host(
        "hv1", "openbsd", "7.6", {**files, "/etc/dhcpd.conf": router}, None, sizes, known
    )
    assert "/etc/dhcpd.conf: line 3 'option routers 10.50.0.254' is not modelled" in str(
        imported.notes[0]
    )
    assert "dhcp_server" not in public_entry(imported)


def test_netbsd_dhcpcd_keys_are_reported_and_kept() -> None:
    files = {
        "/etc/ifconfig.wm0": "dhcp\n",
        "/etc/rc.conf": "rc_configured=YES\ndhcpcd=YES\ndhcpcd_flags='-qM wm0'\n",
    }
    imported = import_host("nb", "netbsd", "10.0", files)
    assert [str(n) for n in imported.notes] == [
        "/etc/rc.conf: line 2 'dhcpcd=YES' is not modelled: a deploy leaves it as it is",
        "/etc/rc.conf: line 3 'dhcpcd_flags=-qM wm0' is not modelled: a deploy leaves it as it is",
    ]
    assert public_entry(imported)["interfaces"] == {"wm0": {"dhcp": True}}


def test_an_inventory_vm_missing_from_vm_conf_is_reported() -> None:
    files, sizes = hv1_files()
    known = load_inventory(EXAMPLE).hosts
    vm_conf = files["/etc/vm.conf"]
    files["/etc/vm.conf"] = vm_conf[: vm_conf.index('vm "obsd1"')].rstrip("\n") + "\n"
    files.pop("/etc/pf.vm/obsd1.conf")
    files["/etc/pf.bsdprov.conf"] = files["/etc/pf.bsdprov.conf"].replace(
        'load anchor "vm/obsd1" from "/etc/pf.vm/obsd1.conf"\n', ""
    )
    imported = import_host("hv1", "openbsd", "7.6", files, None, sizes, known)
    assert [str(n) for n in imported.notes] == [
        "host obsd1 has a vm on hv1 in the inventory, but /etc/vm.conf has no VM "
        "'obsd1': its vm key is kept, and a deploy would add that VM"
    ]
    assert set(imported.guests) == {"web01", "db01"}


def test_a_secret_on_an_unmodelled_line_is_masked() -> None:
    files = {"/etc/hostname.iwm0": "join home wpakey hunter2secret\ndhcp\n"}
    imported = import_host("laptop", "openbsd", "7.6", files)
    shown = "\n".join(str(n) for n in imported.notes)
    assert "hunter2secret" not in shown
    assert "/etc/hostname.iwm0: line 1 'join home wpakey ********' is not modelled" in shown


def test_openbsd_a_default_route_in_a_tunnels_file_is_read() -> None:
    # netstart configures tunnels after mygate at boot: their default goes in their own file.
    files = {
        "/etc/hostname.em0": "inet 192.0.2.10 255.255.255.0\n",
        "/etc/hostname.gif0": (
            "tunnel 192.0.2.10 198.51.100.200\ninet6 2001:db8:1::2 128\ndest 2001:db8:1::1\n"
            "!route -qn add -inet6 default 2001:db8:1::1\n"
        ),
        "/etc/mygate": "192.0.2.1\n",
    }
    imported = import_host("tun", "openbsd", "7.6", files)
    assert imported.notes == ()
    assert public_entry(imported)["routes"] == [
        {"to": "default", "via": "192.0.2.1"},
        {"to": "default", "via": "2001:db8:1::1"},
    ]


def test_netbsd_vlan_lines_set_only_when_missing_are_read() -> None:
    case = (
        '!case "$(/sbin/ifconfig vlan10)" in *"vlan: 10 parent: wm1"*) ;; '
        "*) /sbin/ifconfig vlan10 vlan 10 vlanif wm1 ;; esac"
    )
    files = {
        "/etc/ifconfig.wm1": "up\n",
        "/etc/ifconfig.vlan10": f"{case}\nup\n",
        "/etc/ifconfig.bridge0": (
            "!/sbin/ifconfig vlan10 >/dev/null 2>&1 || /sbin/ifconfig vlan10 create\n"
            f"{case}\n!/sbin/brconfig bridge0 add vlan10\nup\n"
        ),
    }
    imported = import_host("nb", "netbsd", "10.0", files)
    assert imported.notes == ()
    assert public_entry(imported)["interfaces"]["vlan10"] == {
        "up": True,
        "parent": "wm1",
        "vlan": 10,
    }
    assert public_entry(imported)["interfaces"]["bridge0"] == {"members": ["vlan10"]}

    files["/etc/ifconfig.bridge0"] = (
        files["/etc/ifconfig.bridge0"].replace("vlan: 10", "vlan: 11").replace("vlan 10", "vlan 11")
    )
    imported = import_host("nb", "netbsd", "10.0", files)
    assert "does not match vlan10's own file: bridge0 is left unmanaged" in str(imported.notes[0])


def test_a_nat_gateway_without_vmd_is_read() -> None:
    inventory = parse_inventory(
        "hosts:\n  nat1:\n    os: openbsd\n    interfaces:\n"
        "      em0: {addresses: [192.0.2.10/24]}\n      em1: {addresses: [10.70.0.1/24]}\n"
        "    routes: [{to: default, via: 192.0.2.1}]\n    forwarding: {inet: true}\n"
        "    nat: [{from: 10.70.0.0/24, out: em0}]\n",
        "nat",
    )
    files = rendered_files(inventory, inventory.hosts["nat1"])
    imported = import_host("nat1", "openbsd", "7.6", files)
    entry = public_entry(imported)
    assert entry["nat"] == [{"from": "10.70.0.0/24", "out": "em0"}]
    assert entry["forwarding"] == {"inet": True}
    assert "switches" not in entry and imported.notes == ()


def test_netbsd_a_dhcp_interface_dhcpcd_is_denied_stays_unmanaged() -> None:
    files = {
        "/etc/ifconfig.wm0": "inet 192.0.2.9 netmask 255.255.255.0\n",
        "/etc/ifconfig.wm1": "dhcp\n",
        "/etc/dhcpcd.conf": "denyinterfaces wm0\ndenyinterfaces wm1\n",
    }
    imported = import_host("nb", "netbsd", "10.0", files)
    assert [str(n) for n in imported.notes] == [
        "/etc/dhcpcd.conf: line 2 'denyinterfaces wm1' denies dhcpcd wm1, whose file asks for "
        "DHCP: wm1 is left unmanaged"
    ]
    assert list(public_entry(imported)["interfaces"]) == ["wm0"]
