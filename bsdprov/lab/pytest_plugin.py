"""pytest fixture ``lab``: a small lab of simulated BSD hosts for the e2e tests.

Register with ``pytest_plugins = ["bsdprov.lab.pytest_plugin"]`` and mark the tests ``e2e``. The
lab (lab01 openbsd, lab02 freebsd, lab03 netbsd) is brought up once per session in a temporary
directory, on ports from 24001 up, with the same code as ``invoke lab.up``, and taken down at
the end. Without root, Linux or the lab's packages the tests are skipped with the reason; under
CI (``CI`` set) they fail instead, so a CI run cannot pass by skipping them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from bsdprov.lab.errors import LabError
from bsdprov.lab.manager import LabStatus, check_prerequisites, down_lab, reset_lab, up_lab
from bsdprov.lab.paths import LabPaths, fakes_dir
from bsdprov.lab.reboot import reboot_host
from bsdprov.lab.snapshot import live_state, state_difference

LAB_HOSTS = 3
# Several checkouts may run their suites on one machine at once (parallel work trees): each
# sets its own BSDPROV_TEST_SLOT, which moves every test lab's ports and fixed directories.
TEST_SLOT_ENV = "BSDPROV_TEST_SLOT"


def test_slot() -> int:
    """This test process's slot: ``$BSDPROV_TEST_SLOT`` (0 when unset), plus the pytest-xdist
    worker's number, so the workers of one run never share a lab either."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... under pytest -n
    return int(os.environ.get(TEST_SLOT_ENV) or 0) + (int(worker[2:]) if worker else 0)


SLOT_PORT_STRIDE = 3000  # the test labs use 24001 to about 26620: slots never overlap


def slot_port(base: int) -> int:
    """A test lab's first port, moved by SLOT_PORT_STRIDE per slot (slots 0 to 12 fit)."""
    port = base + SLOT_PORT_STRIDE * test_slot()
    if port > 65000:
        raise ValueError(f"{TEST_SLOT_ENV}={test_slot()} moves test lab ports past 65000")
    return port


def slot_dir(path: Path) -> Path:
    """A fixed test lab directory, suffixed with the slot when one is set."""
    return path if test_slot() == 0 else path.with_name(f"{path.name}-{test_slot()}")


LAB_BASE_PORT = slot_port(24001)


@dataclass(frozen=True, slots=True)
class RunningLab:
    """A lab brought up for tests, with helpers to reach its hosts."""

    status: LabStatus
    fakes: Path

    @property
    def names(self) -> list[str]:
        return [h.name for h in self.status.hosts]

    @property
    def ssh_config(self) -> Path:
        return self.status.ssh_config

    @property
    def inventory(self) -> Path:
        assert self.status.inventory is not None
        return self.status.inventory

    def os_of(self, name: str) -> str:
        return next(h.os for h in self.status.hosts if h.name == name)

    def port_of(self, name: str) -> int:
        return next(h.port for h in self.status.hosts if h.name == name)

    def host_root(self, name: str) -> Path:
        """The host's root on this machine, to look at a host from the outside."""
        return LabPaths(self.status.lab_dir).host_root(name)

    def ssh_argv(self, name: str, *command: str) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), name, *command]

    def ssh(
        self,
        name: str,
        command: str,
        *,
        check: bool = True,
        input: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` on ``name`` through real OpenSSH; raise if it fails and ``check``."""
        result = subprocess.run(
            self.ssh_argv(name, command),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"ssh {name} {command!r} exited {result.returncode}:\n{result.stderr}"
            )
        return result

    def reset(self, name: str | None = None) -> None:
        """Give ``name`` (or every host) a fresh root and state; keys and ports stay."""
        reset_lab(name, lab_dir=self.status.lab_dir, fakes=self.fakes)

    def reboot(self, name: str) -> str:
        """Reboot ``name`` (``lab.reboot``); return what its boot printed."""
        return reboot_host(name, lab_dir=self.status.lab_dir)

    def assert_reboot_keeps_state(self, *names: str) -> None:
        """The reboot invariant for ``names`` (default: every host); see the function."""
        assert_reboot_keeps_state(self.status.lab_dir, *(names or self.names))


REBOOT_XFAIL = "reboot_xfail"


def assert_reboot_keeps_state(
    lab_dir: Path, *names: str, expected: Mapping[str, str] | None = None
) -> None:
    """The reboot invariant: record each host's live state, reboot it, record it again.

    What a deploy activated must be what the host's files give at boot. Fails naming each host
    whose state changed, with the difference and what its boot printed. ``expected`` maps a
    host to the reason it is known to fail today (a bug being fixed elsewhere): such a host
    must still fail, or this fails asking to drop the mark (strict, as ``xfail(strict=True)``);
    when only such hosts fail, the test ends as xfailed with their reasons.
    """
    expected = expected or {}
    failures, known = [], []
    for name in names:
        root = LabPaths(lab_dir).host_root(name)
        before = live_state(root)
        output = reboot_host(name, lab_dir=lab_dir)
        difference = state_difference(before, live_state(root))
        if name in expected and not difference:
            failures.append(
                f"{name}: the reboot invariant holds now: remove its "
                f"{REBOOT_XFAIL} mark ({expected[name]!r})"
            )
        elif name in expected:
            known.append(f"{name}: {expected[name]}")
        elif difference:
            console = "".join(f"  | {line}\n" for line in output.splitlines())
            failures.append(
                f"{name}: the live state after lab.reboot is not the one before "
                f"(- before, + after):\n{difference}{name}: its boot printed:\n{console}"
            )
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    if known:
        pytest.xfail("reboot invariant: " + "; ".join(known))


RebootInvariant = Callable[..., None]


@pytest.fixture
def reboot_invariant(request: pytest.FixtureRequest) -> RebootInvariant:
    """``reboot_invariant(lab, *names)``: the reboot invariant as the test's last check.

    ``lab`` is a ``RunningLab`` (names default to its hosts) or a lab directory. A test marked
    ``@pytest.mark.reboot_xfail("hv1", reason="issue 10 case 2: ...")`` expects hv1's check to
    fail, strictly (see ``assert_reboot_keeps_state``): remove the mark once the cause is fixed.
    """
    expected = {}
    for mark in request.node.iter_markers(REBOOT_XFAIL):
        for host in mark.args:
            expected[str(host)] = str(mark.kwargs["reason"])

    def check(lab: RunningLab | Path, *names: str) -> None:
        if isinstance(lab, RunningLab):
            assert_reboot_keeps_state(
                lab.status.lab_dir, *(names or tuple(lab.names)), expected=expected
            )
        else:
            assert_reboot_keeps_state(lab, *names, expected=expected)

    return check


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{REBOOT_XFAIL}(*hosts, reason): these hosts' reboot invariant is known to fail "
        "(strict: the test fails once it holds)",
    )


def lab_unavailable() -> str | None:
    """Why this machine cannot run a lab (None if it can)."""
    try:
        check_prerequisites()
    except LabError as exc:
        return str(exc)
    for tool in ("ssh", "sftp"):
        if shutil.which(tool) is None:
            return f"lab tests: {tool!r} is missing; install it: apt-get install openssh-client"
    return None


def skip_without_lab() -> None:
    """Skip (or under CI fail) the calling test when this machine cannot run a lab."""
    reason = lab_unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the lab is required under CI: {reason}")
        pytest.skip(reason)


def start_lab(
    lab_dir: Path,
    hosts: int = LAB_HOSTS,
    os_choice: str = "mixed",
    base_port: int = LAB_BASE_PORT,
    fakes: Path | None = None,
) -> RunningLab:
    """Bring up a lab in ``lab_dir`` (inventory at ``lab_dir/lab.yaml``)."""
    status = up_lab(
        hosts,
        os_choice,
        lab_dir=lab_dir,
        inventory=lab_dir / "lab.yaml",
        base_port=base_port,
        fakes=fakes,
    )
    return RunningLab(status, fakes or fakes_dir())


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """Three running hosts (openbsd, freebsd, netbsd), shared by the session's tests."""
    skip_without_lab()
    lab_dir = tmp_path_factory.mktemp("lab")
    try:
        yield start_lab(lab_dir)
    finally:
        down_lab(lab_dir=lab_dir, purge=True)
