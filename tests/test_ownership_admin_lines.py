"""Attack on issue 13: a line the admin had before bsdprov wrote it is the admin's.

An OpenBSD host whose admin runs an own gre tunnel (/etc/hostname.gre5, not in the inventory)
has ``net.inet.gre.allow=1`` in sysctl.conf. The inventory then adds a managed gre tunnel,
whose sysctl line bsdprov finds already there; dropping that tunnel later removed the admin's
line and set gre.allow to 0, cutting the admin's own tunnel: bsdprov removed what it did not
write."""

from __future__ import annotations

from bsdprov.facts import ObservedFile
from bsdprov.ownership import RECORD, claim, owned_items, record_text, with_record
from bsdprov.plan import plan_host
from bsdprov.render import file_content, render_host
from tests.test_ownership import host

ADMIN = "kern.maxfiles=4096\nnet.inet.gre.allow=1\n"


def first_deploy(before: str) -> dict[str, ObservedFile]:
    """The host after v1's deploy (a gre tunnel) over ``before`` as sysctl.conf, with a record
    from an earlier deploy (the tunnel's interfaces not yet in it)."""
    v0 = host("openbsd", v1=False)
    v1 = host("openbsd", v1=True)
    observed = {
        "/etc/sysctl.conf": ObservedFile("/etc/sysctl.conf", before, 0o644, "root", "wheel"),
        RECORD: ObservedFile(
            RECORD, record_text(owned_items(v0, render_host(v0))), 0o600, "root", "wheel"
        ),
    }
    claimed = claim(v1, render_host(v1), observed)
    plan = with_record(plan_host(claimed.rendered, observed), claimed, observed)
    after = {c.path: c for c in plan.changes}
    files = dict(observed)
    for spec in render_host(v1).files:
        content = file_content(
            spec, (files.get(spec.path) or ObservedFile(spec.path, None)).content
        )
        files[spec.path] = ObservedFile(spec.path, content, spec.mode, spec.owner, spec.group)
    files[RECORD] = ObservedFile(RECORD, after[RECORD].after, 0o600, "root", "wheel")
    return files


def drop_tunnel(files: dict[str, ObservedFile]) -> list[str]:
    v2 = host("openbsd", v1=False)
    claimed = claim(v2, render_host(v2), files)
    plan = with_record(plan_host(claimed.rendered, files), claimed, files)
    return [" ".join(s.argv) for r in plan.removals for s in r.steps] + [
        f"{c.path}:{c.after}" for c in plan.changes
    ]


def test_the_admins_sysctl_line_stays_when_the_managed_tunnel_goes() -> None:
    done = drop_tunnel(first_deploy(ADMIN))
    assert "ifconfig gre0 destroy" in done
    assert not any("gre.allow=0" in c for c in done), done
    # sysctl.conf is left as it is: the admin's line stays.
    assert not any(c.startswith("/etc/sysctl.conf:") for c in done), done


def test_a_line_bsdprov_added_goes_with_its_tunnel() -> None:
    done = drop_tunnel(first_deploy("kern.maxfiles=4096\n"))
    assert "sh /var/db/bsdprov/lib/sysctl-apply net.inet.gre.allow=0" in done
    sysctl = next(c for c in done if c.startswith("/etc/sysctl.conf:"))
    assert "gre.allow" not in sysctl and "kern.maxfiles=4096" in sysctl
