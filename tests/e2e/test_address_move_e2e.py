"""Moving a lab host's management address in one deploy, each OS.

Every lab host answers on 127.0.0.1 and its port. Here 127.0.0.2 (same port) stands for the
host's *new* address: a forwarder the test runs passes a connection on to the host only while
the new address is configured on the host's management interface, as a network routes to an
address only once a host holds it. The inventory gives ``address: 127.0.0.2`` and
``previous_address: 127.0.0.1``: the probe gets no answer at the new address and falls back to
the previous one; the confirmation must come through the new one.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from collections.abc import Callable, Iterator
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

import pytest

from bsdprov.errors import ExitCode
from bsdprov.lab.pytest_plugin import RebootInvariant, RunningLab
from tests.command import bsdprov
from tests.e2e.test_deploy import IFACE, edited

pytestmark = pytest.mark.e2e

NEW_ADDRESS = "127.0.0.2"


class Forwarder:
    """127.0.0.2:PORT -> 127.0.0.1:PORT while ``open()`` says so; counts what it let through."""

    def __init__(self, port: int, is_open: Callable[[], bool]) -> None:
        self.port, self.is_open, self.passed = port, is_open, 0
        self.server = socket.create_server((NEW_ADDRESS, port))
        self.server.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                client, _ = self.server.accept()
            except TimeoutError:
                continue
            if not self.is_open():
                client.close()  # no route to an address the host does not hold
                continue
            self.passed += 1
            upstream = socket.create_connection(("127.0.0.1", self.port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.stopping = True
        self.thread.join()
        self.server.close()


@pytest.fixture
def fresh(lab: RunningLab) -> Iterator[RunningLab]:
    lab.reset()
    yield lab
    lab.reset()


def holds(lab: RunningLab, name: str, address: str) -> bool:
    """Whether the host's management interface holds ``address`` (the fakes' state file)."""
    state = lab.host_root(name) / f"var/lab/state/if/{IFACE[lab.os_of(name)]}"
    return any(line.split()[:2] == ["inet", address] for line in state.read_text().splitlines())


def move(lab: RunningLab, tmp_path: Path, name: str) -> tuple[str, str, str]:
    """An inventory moving ``name``'s management address to another in its subnet (the
    gateway stays on-link); returns it with the old and the new address."""
    found: dict[str, str] = {}

    def change(data: dict[str, Any]) -> None:
        host = data["hosts"][name]
        (itf,) = host["interfaces"].values()
        old = ip_interface(itf["addresses"][0])
        new = ip_interface(f"{old.ip + 100}/{old.network.prefixlen}")
        found.update(old=str(old.ip), new=str(new.ip))
        itf["addresses"] = [str(new)]
        host["address"] = NEW_ADDRESS
        host["previous_address"] = "127.0.0.1"

    inventory = edited(lab, tmp_path, change)
    return inventory, found["old"], found["new"]


def test_a_management_address_move_is_confirmed_at_the_new_address_in_one_deploy(
    fresh: RunningLab, tmp_path: Path, reboot_invariant: RebootInvariant
) -> None:
    for name in fresh.names:
        inventory, old, new = move(fresh, tmp_path, name)
        mgmt = fresh.host_root(name) / "var/lab/mgmt"
        # The lab's network routes both addresses to the host (its gate checks either).
        mgmt.write_text(f"{IFACE[fresh.os_of(name)]} {old}\n{IFACE[fresh.os_of(name)]} {new}\n")
        forwarder = Forwarder(fresh.port_of(name), functools.partial(holds, fresh, name, new))
        try:
            plan = bsdprov("plan", "--host", name, "-i", inventory)
            assert plan.returncode == 0, plan.stdout + plan.stderr
            assert (
                "connected through previous_address 127.0.0.1: address 127.0.0.2 does not "
                "answer yet; the run is confirmed through 127.0.0.2 only" in plan.stdout
            ), plan.stdout
            deployed = bsdprov("deploy", "--host", name, "-i", inventory, "--confirm-timeout", "30")
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            assert f"{name}  changed (run " in deployed.stdout
            assert forwarder.passed >= 1, "the run was confirmed through the new address"
            assert holds(fresh, name, new) and not holds(fresh, name, old)
            # From now on the new address answers: the next plan goes there, nothing to do.
            passed = forwarder.passed
            again = bsdprov("plan", "--host", name, "-i", inventory, "--detailed-exitcode")
            assert again.returncode == 0, again.stdout + again.stderr
            assert forwarder.passed == passed + 1
        finally:
            forwarder.close()
        reboot_invariant(fresh, name)


def test_a_move_the_new_address_never_confirms_is_rolled_back_by_the_timer(
    fresh: RunningLab, tmp_path: Path
) -> None:
    name = fresh.names[0]
    inventory, old, new = move(fresh, tmp_path, name)
    # Nothing answers at 127.0.0.2: the new address is not routed to the host.
    result = bsdprov(
        "deploy", "--host", name, "-i", inventory, "--confirm-timeout", "10", "--step-timeout", "10"
    )
    # The lab's gate lets no one in while the old address is gone; once the timer rolled the
    # move back, the previous address answers again and tells.
    assert result.returncode == ExitCode.ROLLED_BACK, result.stdout + result.stderr
    assert "no new SSH connection could confirm the run" in result.stdout
    assert "read at previous_address 127.0.0.1: run state rolled-back" in result.stdout
    assert holds(fresh, name, old) and not holds(fresh, name, new)
    assert fresh.ssh(name, "true").returncode == 0
