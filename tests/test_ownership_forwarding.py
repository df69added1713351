"""Attack on issue 13: a forwarding family left out of the inventory is released, not turned off.

docs/inventory.md: "a family left out is not managed" (FreeBSD's gateway_enable is never
recorded, so it is released there). On OpenBSD the record's sysctl.conf line made a deploy that
dropped ``forwarding`` remove the line and set net.inet.ip.forwarding=0: a NAT gateway stopped
routing while its own SSH confirmation succeeded, so nothing rolled it back."""

from __future__ import annotations

import pytest
import yaml

from bsdprov.facts import ObservedFile
from bsdprov.inventory import parse_inventory
from bsdprov.model import Host
from bsdprov.ownership import RECORD, claim, owned_items, record_text, with_record
from bsdprov.plan import plan_host
from bsdprov.render import file_content, render_host


def router(forwarding: dict[str, bool] | None) -> Host:
    entry: dict[str, object] = {
        "os": "openbsd",
        "address": "198.18.0.1",
        "interfaces": {"vio0": {"addresses": ["198.18.0.1/24"]}},
    }
    if forwarding is not None:
        entry["forwarding"] = forwarding
    return parse_inventory(yaml.safe_dump({"hosts": {"gw": entry}}), "i.yaml").hosts["gw"]


def deployed(v1: Host) -> dict[str, ObservedFile]:
    rendered = render_host(v1)
    files = {
        s.path: ObservedFile(s.path, file_content(s, None), s.mode, s.owner, s.group)
        for s in rendered.files
    }
    files[RECORD] = ObservedFile(
        RECORD, record_text(owned_items(v1, rendered)), 0o600, "root", "wheel"
    )
    return files


@pytest.mark.parametrize("v2", [None, {"inet6": True}])
def test_a_forwarding_family_left_out_stays_as_it_is(v2: dict[str, bool] | None) -> None:
    files = deployed(router({"inet": True}))
    host = router(v2)
    claimed = claim(host, render_host(host), files)
    plan = with_record(plan_host(claimed.rendered, files), claimed, files)
    steps = [" ".join(s.argv) for s in plan.steps]
    assert not any("net.inet.ip.forwarding" in s for s in steps), steps
    assert claimed.removals == ()
    after = {c.path: c.after for c in plan.changes}
    assert "net.inet.ip.forwarding=1" in (after.get("/etc/sysctl.conf") or "") or (
        "/etc/sysctl.conf" not in after
    )
    assert any("net.inet.ip.forwarding: no longer managed" in n for n in plan.notes)


def test_forwarding_false_still_turns_it_off() -> None:
    files = deployed(router({"inet": True}))
    host = router({"inet": False})
    claimed = claim(host, render_host(host), files)
    plan = with_record(plan_host(claimed.rendered, files), claimed, files)
    after = {c.path: c.after for c in plan.changes}
    assert "net.inet.ip.forwarding=0" in (after["/etc/sysctl.conf"] or "")
