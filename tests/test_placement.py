"""Placed runs without engines: the hosts file, reading a cgroup through an engine, what a
placed run refuses, and what the report and a comparison say about placement."""

import pytest

from suite.cli import main
from suite.measure import lab, placement
from suite.measure.engine_readers import EngineCgroup, parse_heads
from suite.measure.resources import Monitor, parse_proc_stat
from suite.read import compare
from suite.read.report import method
from suite.record import results
from suite.read.compare import placement_key
from tests.conftest import FIXTURES

HOSTS = """\
[client]
engine = "ssh://bench@10.0.0.11"
address = "10.0.0.11"
[server]
engine = "tcp://10.0.0.12:2376"
address = "10.0.0.12"
machine = "c5.xlarge"
[db]
engine = "db-context"
address = "10.0.0.13"
"""


def test_a_hosts_file_places_each_role_on_an_engine(tmp_path):
    path = tmp_path / "hosts.toml"
    path.write_text(HOSTS)
    hosts = placement.load_hosts(path)
    assert hosts["client"].docker() == ["docker", "--host", "ssh://bench@10.0.0.11"]
    assert hosts["db"].docker() == ["docker", "--context", "db-context"]
    assert (hosts["server"].address, hosts["server"].machine) == ("10.0.0.12", "c5.xlarge")
    assert hosts["server"].cpus is None       # undeclared: the engine says, when the run opens
    path.write_text(HOSTS.replace('machine = "c5.xlarge"', "cpus = 4"))
    assert placement.load_hosts(path)["server"].cpus == 4


@pytest.mark.parametrize("text, message", [
    (HOSTS.replace("[db]", "[database]"), "unknown role [database]"),
    (HOSTS.replace('address = "10.0.0.13"\n', ""), "[db] needs address"),
    (HOSTS.replace('machine = "c5.xlarge"', 'cores = 4'), "[server] has an unknown key 'cores'"),
    (HOSTS.replace('machine = "c5.xlarge"', 'cpus = 0'), "[server] cpus must be a positive"),
    (HOSTS.replace('machine = "c5.xlarge"', 'cpus = "4"'), "[server] cpus must be a positive"),
    (HOSTS.split("[server]")[0], "no [server] table"),
    ("[client\n", "hosts file"),
])
def test_a_wrong_hosts_file_is_one_line_naming_what(tmp_path, text, message):
    path = tmp_path / "hosts.toml"
    path.write_text(text)
    with pytest.raises(placement.PlacementError) as error:
        placement.load_hosts(path)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_lab_writes_a_hosts_file_the_suite_reads(tmp_path):
    path = tmp_path / "hosts.toml"
    path.write_text(lab.hosts_toml())
    hosts = placement.load_hosts(path)
    assert {role: h.address for role, h in hosts.items()} == lab.ADDRESSES
    # As a user's three VMs: Docker's own ssh scheme, as root at each host's address.
    assert {role: h.engine for role, h in hosts.items()} == \
        {role: f"ssh://root@{address}" for role, address in lab.ADDRESSES.items()}
    assert all(h.docker()[1] == "--host" for h in hosts.values())
    path.write_text(lab.hosts_toml(ssh=False))
    assert all(h.engine == f"unix://{lab.LAB_DIR / role / 'docker.sock'}"
               for role, h in placement.load_hosts(path).items())


V1 = ("/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/memory/memory.stat",
      "/sys/fs/cgroup/cpuacct/cgroup.procs")


def test_a_cgroup_read_through_an_engine_v1_and_v2():
    text = (f"==> {V1[0]} <==\n2500000000\n\n==> {V1[1]} <==\ncache 4096\ntotal_rss 1048576\n"
            f"\n==> {V1[2]} <==\n1\n7\n12\n")
    assert parse_heads(text, V1, 1) == (2.5, 1048576, 3)
    v2 = EngineCgroup(("docker",), "abc", 2).files()
    text = (f"==> {v2[0]} <==\nusage_usec 1500000\nuser_usec 1000000\n\n==> {v2[1]} <==\n"
            f"anon 2048\nfile 10\n\n==> {v2[2]} <==\n5\n")
    assert parse_heads(text, v2, 2) == (1.5, 2048, 1)
    assert parse_heads(f"==> {V1[0]} <==\n", V1, 1) is None     # a file missing: no reading


class Counting:
    """A sparse watch whose CPU counter advances by one second per reading."""
    sparse = True

    def __init__(self):
        self.reads = 0

    def read(self):
        self.reads += 1
        return float(self.reads), 1000 * self.reads, 2


def test_a_sparse_watch_is_read_only_when_the_monitor_starts_and_stops():
    import time as _time
    watch = Counting()
    monitor = Monitor({"server": watch}, interval_s=0.01).start()
    _time.sleep(0.2)   # about 20 background samples
    usage = monitor.stop()
    assert watch.reads == 2
    assert usage["server"].memory_bytes_max == 2000 and usage["server"].processes_max == 2


@pytest.mark.parametrize("options, what", [
    (["--cpus", "server=0"], "--cpus"),
    (["--mongo-url", "mongodb://x"], "--mongo-url"),
    (["--runtime", "local"], "--runtime local"),
])
def test_what_a_placed_run_does_not_measure_is_refused_in_one_line(tmp_path, capsys, options,
                                                                   what):
    path = tmp_path / "hosts.toml"
    path.write_text(HOSTS)
    code = main(["run", "starlette-uvicorn", "--hosts", str(path), *options, "--out",
                 str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith(f"battle: error: --hosts does not take {what}"), err
    assert "\n" not in err and not (tmp_path / "r").exists()


def with_placement(run: results.RunResult, cpu_model: str = "EPYC") -> results.RunResult:
    run.runtime_details.placement = {
        "hosts": {role: {"engine": f"unix:///{role}.sock", "address": f"10.0.0.{i}",
                         "machine": "", "engine_version": "28.2.2", "name": "box", "cpus": 2,
                         "memory_bytes": 2**34, "kernel": "6.1", "os": "Debian",
                         "cgroup_version": 1, "cpu_model": cpu_model}
                  for i, role in enumerate(("client", "server", "db"), start=11)},
        "links": [{"source": "client", "target": "server", "rtt_ms": 0.05, "rtt_ms_p90": 0.07,
                   "gbit_s": 21.5, "retransmits": 0, "detail": ""}],
        "images": {}}
    return run


def test_the_report_states_the_placement_in_its_first_lines():
    run = results.load(FIXTURES / "results-v9.json")
    run.runtime_details.placement = None
    [line, _] = method.placement_lines(run)
    assert line.startswith("**Placement: one machine.**")
    [line, _] = method.placement_lines(with_placement(run))
    assert line.startswith("**Placement: three engines.**")
    assert "server at 10.0.0.12 (EPYC × 2, 16 GiB" in line
    assert "client → server: round trip 0.050 ms idle" in line and "21.5 Gbit/s" in line
    assert "a lab on one box" in line      # the three engines report one machine


def test_runs_of_different_placements_are_compared_with_a_warning():
    base = results.load(FIXTURES / "results-v9.json")
    base.runtime_details.placement = None
    new = with_placement(results.load(FIXTURES / "results-v9.json"))
    assert placement_key(None) == "one engine" != placement_key(new.runtime_details.placement)
    warnings = compare.compare(base, new).warnings
    assert any(w.startswith("placements differ (one engine vs client=box/EPYCx2@10.0.0.11")
               for w in warnings), warnings
    same = compare.compare(with_placement(results.load(FIXTURES / "results-v9.json")), new).warnings
    assert not any("placements differ" in w for w in same)


def test_a_machine_read_through_an_engine_is_the_monitors_machine():
    text = ("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n"
            "cpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\nctxt 2\n")
    assert parse_proc_stat(text) == (150, 1000, 2)
    readings = iter([(100, 1000, 4), (400, 1400, 4)])
    usage = Monitor({}, machine=lambda: next(readings)).start().stop()
    assert usage["machine"].cpus == 4 and usage["machine"].cpu_cores == 3.0
    assert "machine" not in Monitor({}, machine=lambda: None).start().stop()
