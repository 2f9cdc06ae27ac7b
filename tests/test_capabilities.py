"""What each runtime declares it can do, the one function that turns a request into refusals,
and what the runner and the report make of a runtime that lacks something."""

import ast
import dataclasses
import subprocess
import tempfile
from pathlib import Path

import pytest

from suite import REPO_ROOT
from suite.cli import main
from suite.measure import placement
from suite.measure.runner import run_method
from suite.measure.runtime import RuntimeUnavailable
from suite.measure.runtime import docker as docker_module
from suite.measure.runtime import placed as placed_module
from suite.measure.runtime.capabilities import DOCKER, LOCAL, PLACED, Request, refusals
from suite.measure.runtime.docker import DockerRuntime
from suite.measure.runtime.local import LocalRuntime
from suite.measure.runtime.placed import Placement
from suite.read.report import method as report_method
from suite.record import results
from suite.record.catalog import load_catalog
from tests.conftest import FIXTURES
from tests.test_placement import HOSTS

EVERYTHING = Request(cpus=True, external_database=True, deployments=True,
                     generators=frozenset({"wrk", "oha"}), writes=True)


def test_each_runtime_declares_its_capabilities_as_data():
    assert (LocalRuntime.capabilities, DockerRuntime.capabilities) == (LOCAL, DOCKER)
    assert placed_runtime(HOSTS).capabilities == PLACED
    assert LOCAL.host_only_rows and not DOCKER.host_only_rows
    assert (PLACED.pinning, LOCAL.pinning) == ("hosts", "cpus")
    # Every capability a runtime lacks has its reason, for the refusal and the report.
    for capabilities in (LOCAL, DOCKER, PLACED):
        data = capabilities.to_dict()
        lacking = {name for name, value in data.items() if value is False}
        lacking |= {"pinning"} if data["pinning"] != "cpus" else set()
        lacking |= {"generators"} if set(data["generators"]) != {"wrk", "oha"} else set()
        assert lacking <= set(capabilities.why_not), capabilities


def test_one_function_turns_a_request_into_the_runtimes_refusals():
    assert refusals(EVERYTHING, LOCAL) == [] and refusals(EVERYTHING, DOCKER) == []
    refused = refusals(EVERYTHING, PLACED)
    assert [r.split(" (")[0] for r in refused] == ["--cpus", "--mongo-url"]
    assert refused[0] == "--cpus (pinning is per machine: each role has its host)"
    assert refusals(Request(), PLACED) == []      # wrk reads, nothing else: placed can
    wrk_only = dataclasses.replace(DOCKER, generators=("wrk",),
                                   why_not={"generators": "wrk alone"})
    assert refusals(EVERYTHING, wrk_only) == ["oha (wrk alone)"]
    alone = dataclasses.replace(LOCAL, deployments=False, writes=False, why_not={})
    assert refusals(EVERYTHING, alone) == ["--instances/--balancer", "writes (--docs write)"]


ORCHESTRATION = ("suite/cli.py", "suite/policy.py", "suite/request.py",
                 "suite/measure/resume.py", "suite/measure/runner.py",
                 "suite/measure/bringup.py", "suite/measure/database.py",
                 "suite/measure/execution.py", "suite/measure/scenarios.py",
                 "suite/measure/progress.py")


def test_the_runner_and_cli_probe_nothing_by_attribute():
    """Capabilities are asked of `runtime.capabilities` and options of the typed request,
    never by getattr/hasattr: the CLI, its policy and request, and the runner with the modules
    it orchestrates have none at all (parsed arguments included: every command that takes an
    option has its default)."""
    for name in ORCHESTRATION:
        path = REPO_ROOT / name
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("getattr", "hasattr"), \
                    f"{name}:{node.lineno}: {ast.unparse(node)}"


@pytest.mark.integration      # the CLI describes the machine (git) as a run would
def test_plan_with_hosts_reaches_no_engine(tmp_path, monkeypatch, capsys):
    started = []
    real_run, real_popen = subprocess.run, subprocess.Popen

    def refusing(real):
        def call(argv, *a, **k):
            if any("docker" in str(part) or "ssh" in str(part) for part in argv):
                started.append(list(argv))
                raise AssertionError(f"--plan started {argv}")
            return real(argv, *a, **k)       # git and the like: the machine's description
        return call

    monkeypatch.setattr(subprocess, "run", refusing(real_run))
    monkeypatch.setattr(subprocess, "Popen", refusing(real_popen))
    # Runtimes other tests of this process opened are the CLI's to clean at its end (a run's
    # own process has only its own): none here, so the CLI's last word reaches no engine.
    monkeypatch.setattr(docker_module, "_owners_opened", set())
    path = tmp_path / "hosts.toml"
    path.write_text(HOSTS.replace("tcp://10.0.0.12:2376", "unix:///nonexistent/docker.sock"))
    code = main(["run", "starlette-uvicorn", "--hosts", str(path), "--docs", "small",
                 "--connections", "200", "--plan", "--out", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 0 and "starlette-uvicorn" in out and not started
    assert not (tmp_path / "r").exists()


def test_a_sweep_on_hosts_needs_the_server_hosts_cpus(tmp_path, capsys):
    path = tmp_path / "hosts.toml"
    path.write_text(HOSTS)
    argv = ["sweep", "flask-gunicorn-sync", "--set", "workers=1,2", "--hosts", str(path),
            "--docs", "small", "--connections", "200", "--plan", "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    assert "add cpus = N to the hosts file's [server] table" in capsys.readouterr().err
    path.write_text(HOSTS.replace('machine = "c5.xlarge"', "cpus = 4"))
    assert main(argv) == 0
    out = capsys.readouterr().out
    # The catalog's own value (2 × cpus + 1 for sync workers) resolved for the declared four.
    assert "workers=9" in out or "workers=9" in out.replace(" ", ""), out


def placed_runtime(text: str, recorded: dict | None = None) -> DockerRuntime:
    """A docker runtime placed on the engines `text` (a hosts file) names, none reached."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hosts.toml"
        path.write_text(text)
        hosts = placement.load_hosts(path)
    return DockerRuntime(placement=Placement(hosts, recorded_cpus=recorded))


def _engines(monkeypatch, ncpu: int) -> None:
    """Engines that answer, each with `ncpu` CPUs (no Docker reached)."""
    monkeypatch.setattr(placed_module, "check_engine", lambda host: "28.2.2")
    # docker() as the placement calls it: `docker info` answers NCPU
    monkeypatch.setattr(placed_module, "docker", lambda *args, **kwargs: subprocess
                        .CompletedProcess(args, 0, f'{{"NCPU": {ncpu}}}', ""))


def test_a_placed_runtime_asks_its_engines_only_when_it_opens(monkeypatch):
    runtime = placed_runtime(HOSTS)
    assert runtime.placement.versions == {} and runtime.server_cpus() == 1   # the stand-in
    assert runtime.engines["server"].address == "10.0.0.12" and runtime.engines["db"].remote
    variant = load_catalog()["starlette-uvicorn"]
    command = runtime.command(variant, variant.resolve(cpus=1, max_connections=200), 8000)
    assert "10.0.0.12" in command and "127.0.0.1" not in command
    _engines(monkeypatch, 6)
    runtime.placement.reach()
    assert runtime.server_cpus() == 6 and runtime.loadgen_cpus() == 6
    assert set(runtime.placement.versions) == {"client", "server", "db"}


@pytest.mark.parametrize("hosts, recorded, message", [
    (HOSTS.replace('machine = "c5.xlarge"', "cpus = 4"), None,
     "the server host has 6 CPUs (its engine tcp://10.0.0.12:2376); the hosts file gives 4"),
    (HOSTS, {"client": 6, "server": 8, "db": 6},
     "the server host has 6 CPUs (its engine tcp://10.0.0.12:2376); the run being resumed "
     "recorded 8"),
])
def test_cpus_declared_or_recorded_must_be_the_engines(tmp_path, monkeypatch, hosts, recorded,
                                                       message):
    runtime = placed_runtime(hosts, recorded)
    assert runtime.server_cpus() in (4, 8)        # what the settings resolve for, before open
    _engines(monkeypatch, 6)
    with pytest.raises(RuntimeUnavailable) as error:
        runtime.placement.reach()
    assert str(error.value) == message


def test_what_a_runtime_cannot_measure_its_method_and_report_say(tmp_path):
    words = run_method(placed_runtime(HOSTS))
    assert words["spread"] == f"not measured: {PLACED.why_not['connection_spread']}."
    assert words["calibration"].startswith("not timed: the roles run on other machines")
    assert run_method(LocalRuntime(python="python3"))["spread"].startswith("half-way through")
    run = results.load(FIXTURES / "results-v9.json")
    run.runtime_details.placement = {"hosts": {}, "links": []}
    run.runtime_details.capabilities = PLACED.to_dict()
    [line, _] = report_method.placement_lines(run)
    # Where the scenarios ran (the fixture's run cross-checked with oha), then what was not
    # measured and why.
    assert " same way. Placed with the roles: oha (cross-checks) in the client container. Not " \
           "measured" in line
    assert line.endswith(" Not measured in this run: the connections per worker process (the "
                         "server's processes run on another engine, whose /proc is not read "
                         "yet); the machine's speed before each repeat (calibration) (the roles "
                         "run on other machines than the suite's, whose CPUs it does not time).")
    run.runtime_details.capabilities = None          # recorded before capabilities were
    [line, _] = report_method.placement_lines(run)
    assert "Not measured" not in line
