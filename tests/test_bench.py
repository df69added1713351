"""The benchmark's pure parts: the task, the per-host check, stats, targets and RESULTS.md."""

from __future__ import annotations

from typing import Any

import yaml

from bench import peers
from bench.__main__ import parse_args
from bench.stats import (
    CHANGES,
    FLOOR,
    NO_CHANGE,
    READ,
    Sample,
    Summary,
    render_results,
    summarise,
    targets,
)
from bench.task import (
    MODE,
    Observed,
    bench_inventory,
    check_host,
    desired_contents,
    netstart_runs,
    sshd_counts,
)

LAB: dict[str, Any] = {
    "defaults": {"user": "root", "become": "none"},
    "hosts": {
        f"lab0{n}": {
            "address": "127.0.0.1",
            "port": 26000 + n,
            "os": "openbsd",
            "interfaces": {"vio0": {"addresses": [f"198.18.0.{n}/24"]}},
            "routes": [{"to": "default", "via": "198.18.0.254"}],
        }
        for n in (1, 2, 3)
    },
}


def wanted() -> dict[str, str]:
    return desired_contents(yaml.safe_dump(bench_inventory(LAB, ["lab01", "lab02"])))


def test_inventory_keeps_the_management_address_and_adds_a_32_and_an_onlink_gateway() -> None:
    data = bench_inventory(LAB, ["lab01", "lab02"])
    assert list(data["hosts"]) == ["lab01", "lab02"]
    assert data["hosts"]["lab02"]["interfaces"]["vio0"]["addresses"] == [
        "198.18.0.2/24",
        "203.0.113.2/32",
    ]
    assert data["hosts"]["lab01"]["routes"] == [
        {"to": "default", "via": "198.51.100.1", "onlink": True}
    ]
    assert LAB["hosts"]["lab01"]["routes"] == [{"to": "default", "via": "198.18.0.254"}]


def test_every_tool_writes_what_bsdprov_renders() -> None:
    want = wanted()
    assert want["lab02"].splitlines()[1:] == [
        "inet 198.18.0.2 255.255.255.0",
        "inet alias 203.0.113.2 255.255.255.255",
        "!route -qn add -inet 198.51.100.1 -cloning -link -iface $if",
    ]


LOG_CHANGED = "/usr/bin/uname -srm\n/etc/netstart -n vio0\n/sbin/ifconfig -C\n/etc/netstart vio0\n"


def test_netstart_runs_count_only_the_real_run() -> None:
    assert netstart_runs(LOG_CHANGED) == 1
    assert netstart_runs("/etc/netstart -n vio0\n/etc/netstart vio1\n") == 0


def test_check_host_accepts_the_work_done() -> None:
    want = wanted()["lab01"]
    assert check_host("lab01", Observed(want, MODE, LOG_CHANGED), want, changes=True) == []
    quiet = Observed(want, MODE, "/usr/bin/uname -s\n")
    assert check_host("lab01", quiet, want, changes=False) == []


def test_check_host_names_each_problem() -> None:
    want = wanted()["lab01"]
    problems = check_host("lab01", Observed("old\n", 0o644, ""), want, changes=True)
    assert problems == [
        "lab01: /etc/hostname.vio0 does not hold the wanted config",
        "lab01: /etc/hostname.vio0 has mode 644, not 640",
        "lab01: netstart vio0 ran 0 times, not 1",
        "lab01: uname -s was never read",
    ]
    twice = Observed(want, MODE, LOG_CHANGED + "/etc/netstart vio0\n")
    assert check_host("lab01", twice, want, changes=True) == [
        "lab01: netstart vio0 ran 2 times, not 1"
    ]
    missing = check_host("lab01", Observed(None, None, LOG_CHANGED), want, changes=True)
    assert "lab01: /etc/hostname.vio0 has mode missing, not 640" in missing


def test_sshd_counts_connections_and_channels() -> None:
    log = (
        "Accepted publickey for root from 127.0.0.1\n"
        "Starting session: command for root from 127.0.0.1\n"
        "subsystem request for sftp by user root\n"
        "Starting session: command for root from 127.0.0.1\n"
        "Accepted publickey for root from 127.0.0.1\n"
    )
    assert sshd_counts(log) == (2, 3)


def sample(variant: str, hosts: int, run: str, seconds: float, rss: float = 60.0) -> Sample:
    return Sample(variant, hosts, run, seconds, rss, 1, 1)


def test_summarise_takes_median_range_and_peak_memory_in_a_fixed_order() -> None:
    got = summarise(
        [
            sample("pyinfra", 50, CHANGES, 5.0),
            sample("bsdprov deploy", 50, CHANGES, 3.0, 70),
            sample("bsdprov deploy", 50, CHANGES, 5.0, 90),
            sample("bsdprov deploy", 50, CHANGES, 4.0, 80),
            sample(FLOOR, 50, READ, 1.0),
        ]
    )
    assert [(s.variant, s.run) for s in got] == [
        ("bsdprov deploy", CHANGES),
        ("pyinfra", CHANGES),
        (FLOOR, READ),
    ]
    assert (got[0].median, got[0].low, got[0].high, got[0].rss_mb, got[0].reps) == (
        4.0,
        3.0,
        5.0,
        90,
        3,
    )


def summaries() -> list[Summary]:
    runs = []
    for hosts, scale in ((50, 1.0), (100, 2.0), (200, 4.4)):
        runs += [
            sample(FLOOR, hosts, READ, 1.0 * scale),
            sample("bsdprov plan", hosts, NO_CHANGE, 1.2 * scale),
            sample("bsdprov deploy", hosts, NO_CHANGE, 1.6 * scale),
            sample("bsdprov deploy", hosts, CHANGES, 4.0 * scale),
            sample("pyinfra", hosts, NO_CHANGE, 2.0 * scale),
            sample("pyinfra", hosts, CHANGES, 5.0 * scale),
        ]
    runs.append(sample("ansible", 50, CHANGES, 40.0))
    return summarise(runs)


def test_targets_judge_the_issue_figures() -> None:
    found = {t.what: t for t in targets(summaries())}
    assert found["bsdprov plan, no change, 50 hosts: ≤ 1.5× the paramiko floor"].met is True
    deploy_floor = found["bsdprov deploy, no change, 50 hosts: ≤ 1.5× the paramiko floor"]
    assert (deploy_floor.met, deploy_floor.detail) == (False, "1.60×")
    assert found["bsdprov deploy, changes, 50 hosts: no slower than pyinfra"].met is True
    assert found["bsdprov deploy, changes, 50 hosts: ≥ 8× faster than Ansible"].met is True
    linear = found["bsdprov deploy, changes: time grows no worse than linearly (100 → 200 hosts)"]
    assert linear.met is False
    assert found["bsdprov controller memory < 300 MB at every size"].met is True


def test_targets_without_measurements_say_so() -> None:
    found = targets(summarise([sample("bsdprov plan", 50, NO_CHANGE, 1.0)]))
    assert {t.met for t in found} == {None, True}


def test_results_file_has_a_table_per_size_ratios_targets_and_notes() -> None:
    text = render_results(summaries(), "x86_64, 2 cores", "pyinfra==3", "## Notes\n\nfound", "cmd")
    assert "## 50 hosts" in text and "## 200 hosts" in text
    assert "| bsdprov deploy | changes | 4.00 | 4.00–4.00 | 4.00× | 60 | 1 | 1 | 1 |" in text
    assert "| bsdprov deploy | changes | n/a | 1.25× | 10.00× |" in text
    assert "Machine: x86_64, 2 cores" in text
    assert text.rstrip().endswith("found")


def test_arguments_are_checked_without_a_traceback(capsys: object) -> None:
    args = parse_args(["--hosts", "100,10", "--reps", "2", "--tools", "bsdprov,floor"])
    assert (args.sizes, args.reps, args.tool_list) == ([10, 100], 2, ["bsdprov", "floor"])
    for bad in (["--hosts", "ten"], ["--tools", "chef"], ["--reps", "0"]):
        try:
            parse_args(bad)
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{bad} was accepted")


def test_peer_projects_carry_the_same_contents(tmp_path: object) -> None:
    from pathlib import Path

    work = Path(str(tmp_path))
    want = wanted()
    hosts = [peers.LabHost("lab01", 26001), peers.LabHost("lab02", 26002)]
    access = peers.Access(work / "id", work / "known_hosts", work / "ssh_config")
    peers.write_pyinfra(work / "pyinfra", hosts, access, want)
    peers.write_ansible(work / "ansible", hosts, access, want, forks=2)
    peers.write_hosts_json(work / "hosts.json", hosts, access, want)
    namespace: dict[str, object] = {}
    exec((work / "pyinfra/inventory.py").read_text(), namespace)
    inventory = namespace["hosts"]
    assert isinstance(inventory, list)
    assert inventory[1][1]["hostname_vio0"] == want["lab02"]
    assert inventory[0][1]["ssh_strict_host_key_checking"] == "yes"
    cfg = (work / "ansible/ansible.cfg").read_text()
    assert "forks = 2\n" in cfg and "pipelining = True\n" in cfg and "ControlPersist" in cfg
    ansible_inventory = yaml.safe_load((work / "ansible/inventory.yml").read_text())
    assert ansible_inventory["all"]["hosts"]["lab01"]["hostname_vio0"] == want["lab01"]
