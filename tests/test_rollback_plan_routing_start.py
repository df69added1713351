"""Review of issue 16: a FreeBSD rollback through `service routing start` deletes the run's
routes first, as the deploy does (``route add`` never replaces a route)."""

from __future__ import annotations

from bsdprov.render.base import Step
from bsdprov.rollback import Swap, plan_undo

FORWARD = (
    Step(("route", "-n", "delete", "default"), "", True),
    Step(("service", "routing", "start"), "", True),
)


def commands(now: str, restored: str, forward: tuple[Step, ...] = FORWARD) -> list[str]:
    undo = plan_undo("freebsd", [Swap("/etc/rc.conf", now, restored)], forward)
    return [" ".join(step.argv) for step in undo.steps]


def test_a_changed_default_router_is_deleted_before_routing_start() -> None:
    now = 'ifconfig_vtnet0="inet 192.0.2.5/24"\ndefaultrouter="192.0.2.1"\n'
    restored = 'ifconfig_vtnet0="inet 192.0.2.5/24"\ndefaultrouter="192.0.2.254"\n'
    assert commands(now, restored) == ["route -n delete default", "service routing start"]


def test_a_route_the_run_added_is_deleted_before_routing_start() -> None:
    now = 'static_routes="x"\nroute_x="-net 10.0.0.0/8 192.0.2.9"\n'
    now += 'ipv6_defaultrouter="fe80::1%vtnet0"\n'
    assert commands(now, "") == [
        "route -n delete -inet6 default",
        "route -n delete -net 10.0.0.0/8",
        "service routing start",
    ]


def test_routing_restart_flushes_by_itself() -> None:
    forward = (Step(("service", "routing", "restart"), ""),)
    now = 'defaultrouter="192.0.2.1"\n'
    assert commands(now, 'defaultrouter="192.0.2.254"\n', forward) == ["service routing restart"]
