"""The docker runtime for real: offline images built here (no registry), MongoDB and servers in
containers on the host network, real wrk; failures fail one variant; nothing is left running."""

import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest

from suite import REPO_ROOT
from suite.record import results
from suite.record.catalog import load_catalog
from suite.measure.runtime.docker import DockerRuntime
from tests.conftest import battle

pytestmark = pytest.mark.integration
TINY = ["--profile", "quick", "--images", "offline", "--docs", "small", "--connections", "50",
        "--duration", "2", "--timeout", "1", "--warmup", "1"]
# The packages of fastapi-uvicorn: images of test variants with these reuse its cached layers.
FASTAPI_PACKAGES = '["fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pymongo", "orjson"]'


def containers(*labels: str) -> list[str]:
    done = subprocess.run(["docker", "ps", "-aq", *[a for label in labels
                                                    for a in ("--filter", f"label={label}")]],
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


@pytest.fixture(scope="module", autouse=True)
def offline_images():
    """The offline base, wheelhouse and mongo image, built when missing (cached otherwise)."""
    done = battle("images", "--offline", "--no-servers", timeout=1800)
    assert done.returncode == 0, done.stderr
    yield
    assert containers("battle.role") == [], "a test left a container behind"


@pytest.fixture(scope="module")
def docker_mongo(tmp_path_factory):
    """One docker runtime and its seeded mongo container for the per-variant checks."""
    from suite.measure.mongo import seed

    runtime = DockerRuntime(images="offline")
    artifacts = tmp_path_factory.mktemp("docker-contract")
    with runtime.open(artifacts), runtime.mongo(artifacts / "mongod.log") as endpoint:
        seed(endpoint.url)
        yield runtime, endpoint, artifacts


# Free-threaded and reference rows run in the local runtime only (their interpreter or
# toolchain is built on the host).
@pytest.mark.parametrize("name", [n for n, v in load_catalog().items() if not v.host_only])
def test_every_variant_builds_starts_and_verifies_in_its_container(name, docker_mongo):
    from suite.measure.mongo import DEFAULT_DATABASE, free_port
    from suite.measure.verify import verify, wait_ready

    runtime, endpoint, artifacts = docker_mongo
    variant = load_catalog()[name]
    image = runtime.prepare(variant, artifacts / f"{name}.build.log")
    assert image.id.startswith("sha256:") and image.nofile[0] >= 6000
    packages = runtime.package_versions(variant)
    assert all(packages.values()), packages          # every listed package is in the image
    settings = variant.resolve(cpus=runtime.server_cpus(), max_connections=5000)
    server = runtime.start_server(variant, settings, mongo_url=endpoint.url,
                                  database=DEFAULT_DATABASE, port=free_port(),
                                  log_path=artifacts / f"{name}.log")
    try:
        wait_ready(server, 60)
        checks = verify(server)
        assert all(check.passed for check in checks), checks
        assert server.watches()["server"] is not None
    finally:
        server.stop()
    log = (artifacts / f"{name}.log").read_text()
    assert log.startswith("battle-launch: "), log[:300]
    assert "GET /small" not in log, "access log is on: " + log[-300:]


def test_compose_file_is_valid_for_the_compose_tool_here():
    from suite.measure.runtime.docker import detect_compose

    compose, _ = detect_compose()
    done = subprocess.run([*compose, "--file", str(REPO_ROOT / "compose" / "docker-compose.yml"),
                           "config", "--quiet"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_two_variants_in_containers_end_to_end(tmp_path):
    out, reports = tmp_path / "results", tmp_path / "reports"
    before = containers("battle.role")   # e.g. the mongo container of docker_mongo
    # With a database 2 ms away too: the mongo container allows the fail point.
    done = battle("run", "--runtime", "docker", "flask-gunicorn-gevent", "fastapi-uvicorn", *TINY,
                  "--cpus", "server=1 db=0", "--memory", "server=1g db=1g",
                  "--db-latency", "0,2ms",
                  "--out", str(out), "--reports", str(reports), timeout=1800)
    assert done.returncode == 0, done.stderr
    [path] = sorted(out.glob("*.json"))
    run = results.load(path)
    assert run.status == "complete" and run.runtime == "docker"
    details = run.runtime_details
    assert details.images == "offline" and details.images_source == "--images"
    assert details.compose["version"] and details.network == "host"
    # The database's limits are recorded once, with its container.
    assert details.limits == {"server": {"cpuset": "1", "memory": "1g"}}
    assert (run.mongo.container.cpuset, run.mongo.container.memory) == ("0", "1g")
    assert (out / details.compose["file"]).exists()
    assert run.mongo.container.image == "battle/mongo:offline"
    assert run.mongo.container.image_id.startswith("sha256:")
    [check] = run.mongo.fail_point["verified"]
    assert check["requested_ms"] == 2 and check["added_ms"] >= 2
    for variant in run.variants:
        assert variant.status == "measured", variant.reason
        assert variant.image.name == f"battle/{variant.name}:offline"
        assert variant.image.id.startswith("sha256:") and variant.image.offline
        # The local servers' very interpreter (PGO + LTO), copied into the offline base.
        assert variant.image.python.startswith("3.13")
        build = variant.interpreter_build
        assert build["production"] and build["shared_libpython"] and "pgo-lto" in build["path"]
        assert variant.packages and all(variant.packages.values()), variant.packages
        assert variant.command[0] == "/opt/venv/bin/python"
        assert variant.settings["workers"] == 1          # one CPU in the server's cpuset
        assert all(c.added_ms >= 2 for c in variant.cell("small", 50, 2).db_latency_checks)
        [sample] = variant.cells[0].repeats
        assert sample.ok_requests > 0
        for role in ("server", "mongod"):
            usage = sample.resources[role]
            assert usage.memory == "cgroup-anon"
            assert usage.cpu_cores > 0 and usage.memory_bytes_max > 2**20
            assert usage.processes_max >= 1
        assert sample.resources["server"].cpu_cores <= 1.1   # cpuset 1: one CPU at most
        log = (out / variant.log).read_text()
        assert log.startswith("battle-launch: ") and "/opt/venv/bin/python" in log
    text = (reports / f"{run.run_id}.md").read_text()
    assert "docker (engine" in text and "battle/mongo:offline" in text
    assert "packages from the local wheelhouse only" in text
    assert "## Small document, database +2 ms" in text
    assert containers("battle.role") == before


def test_a_failed_build_and_a_crashing_container_fail_only_their_variants(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(f"""
[variant.broken-build]
app = "none"
code = "sync"
server = "none"
worker_model = "none"
driver = "none"
why = "its image cannot build: the package does not exist"
packages = ["battle-no-such-package-xyz"]
command = ["{{python}}", "-c", "pass"]

[variant.crashes-at-start]
app = "none"
code = "sync"
server = "python"
worker_model = "none"
driver = "none"
why = "the container exits before serving"
packages = {FASTAPI_PACKAGES}
command = ["{{python}}", "-c", "import sys; print('boom: cannot import xyz'); sys.exit(3)"]

[variant.works-after-failures]
app = "fastapi"
code = "sync"
server = "uvicorn"
worker_model = "asyncio"
driver = "pymongo async"
why = "a working variant after the broken ones"
packages = {FASTAPI_PACKAGES}
command = ["{{python}}", "-m", "uvicorn", "servers.fastapi.app:app", "--host", "{{host}}",
           "--port", "{{port}}", "--no-access-log", "--log-level", "warning"]
""")
    out = tmp_path / "results"
    before = containers()   # every container, labelled or not (a failed build step's too)
    done = battle("--catalog", str(catalog), "run", "--runtime", "docker", *TINY,
                  "--out", str(out), "--reports", str(tmp_path / "reports"), timeout=1800)
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    status = {v.name: v for v in run.variants}
    assert status["broken-build"].status == "failed"
    assert "failed to build" in status["broken-build"].reason
    assert status["crashes-at-start"].status == "failed"
    assert "exited with code 3" in status["crashes-at-start"].reason
    assert "boom" in status["crashes-at-start"].reason
    assert status["works-after-failures"].status == "measured"
    assert containers() == before


def test_no_docker_daemon_is_one_clear_line_and_no_results(tmp_path):
    out = tmp_path / "results"
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = battle("run", "--runtime", "docker", "fastapi-uvicorn", *TINY, "--out", str(out),
                  env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Docker daemon" in lines[0], done.stderr
    assert not list(out.glob("*.json"))


def test_containers_of_a_dead_suite_process_are_swept(tmp_path):
    dead = f"{socket.gethostname()}:{2**22 + 1}"   # above pid_max: no such process
    started = subprocess.run(["docker", "run", "-d", "--label", f"battle.owner={dead}",
                              "--label", "battle.role=server", "battle/bookworm:offline",
                              "sleep", "300"], capture_output=True, text=True, check=True)
    orphan = started.stdout.strip()
    try:
        with DockerRuntime(images="offline").open(tmp_path / "run") as details:
            assert orphan[:12] in details.orphans_removed
        assert containers(f"battle.owner={dead}") == []
    finally:
        subprocess.run(["docker", "rm", "-f", orphan], capture_output=True)


def test_ctrl_c_stops_and_removes_every_container(tmp_path):
    out = tmp_path / "results"
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "run", "--runtime", "docker", "fastapi-uvicorn",
         "--profile", "quick", "--images", "offline", "--docs", "small", "--connections", "50",
         "--duration", "30", "--warmup", "0", "--out", str(out), "--reports",
         str(tmp_path / "reports")],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    owner = f"battle.owner={socket.gethostname()}:{process.pid}"
    try:
        printed = []
        for line in process.stderr:
            printed.append(line)
            if "verified" in line:
                break
        assert len(containers(owner)) == 2   # mongo and the server, both labelled as ours
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=120)
        assert process.returncode == 130, "".join(printed) + rest
    finally:
        process.kill()
        process.wait()
    assert containers(owner) == []
    run = results.load(sorted(out.glob("*.json"))[0])
    assert run.status == "interrupted"
    assert json.loads((out / f"{run.run_id}.json").read_text())["status"] == "interrupted"


def test_serve_in_a_container_until_interrupted(tmp_path):
    from suite.measure.http import get
    from suite.measure.mongo import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "serve", "fastapi-uvicorn", "--runtime", "docker",
         "--images", "offline", "--port", str(port), "--logs", str(tmp_path)],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    owner = f"battle.owner={socket.gethostname()}:{process.pid}"
    try:
        for line in process.stderr:
            if line.startswith("serving"):
                break
        assert f"serving fastapi-uvicorn on http://127.0.0.1:{port} (docker runtime" in line
        response = get("127.0.0.1", port, "/small")
        assert response.status == 200 and json.loads(response.body) == {
            "canonicalUrl": "https://t.co/bttl"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 0
    finally:
        process.kill()
        process.wait()
    assert containers(owner) == []


def test_an_existing_mongodb_is_used_as_is(tmp_path, mongo_url):
    out = tmp_path / "results"
    done = battle("run", "--runtime", "docker", "fastapi-uvicorn", *TINY, "--mongo-url", mongo_url,
                  "--out", str(out), "--reports", str(tmp_path / "reports"), timeout=600)
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    assert run.variants[0].status == "measured"
    assert not run.mongo.embedded
    assert set(run.runtime_details.limits) == {"server"} and run.mongo.container is None
    assert "mongod" not in run.variants[0].cells[0].repeats[0].resources


def test_a_sweep_runs_the_catalog_rows_image_with_its_settings(tmp_path):
    out = tmp_path / "results"
    done = battle("sweep", "--runtime", "docker", "flask-gunicorn-sync", "--set", "workers=1",
                  *TINY, "--out", str(out), "--reports", str(tmp_path / "reports"), timeout=900)
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    # The catalog row resolved for the server's CPUs (pinned by default: its own half).
    server_cpus = len(run.cpu_roles.get("server") or range(run.environment["cpu_count"]))
    assert {v.settings["workers"] for v in run.variants} == {1, 2 * server_cpus + 1}
    for variant in run.variants:
        assert variant.status == "measured", variant.reason
        # Every combination runs the catalog row's image; the launcher got its settings.
        assert variant.image.name == "battle/flask-gunicorn-sync:offline"
        workers = variant.command[variant.command.index("--workers") + 1]
        assert workers == str(variant.settings["workers"])
        assert (out / variant.log).read_text().startswith("battle-launch: ")


def test_two_instances_behind_nginx_in_containers(tmp_path):
    out = tmp_path / "results"
    before = containers("battle.role")
    done = battle("run", "--runtime", "docker", "fastapi-uvicorn", "--instances", "2",
                  "--balancer", "nginx", *TINY, "--out", str(out),
                  "--reports", str(tmp_path / "reports"), timeout=900)
    assert done.returncode == 0, done.stderr
    run = results.load(sorted(out.glob("*.json"))[0])
    [variant] = run.variants
    assert variant.status == "measured", variant.reason
    assert variant.deployment.instances == 2 and "/etc/battle-nginx" in variant.deployment.config
    assert re.match(r"\d+\.\d+", variant.deployment.version), variant.deployment.version
    assert variant.deployment.image.startswith("battle/bookworm:offline (sha256:")
    [sample] = variant.cells[0].repeats
    assert sample.ok_requests > 0
    for role in ("instance-1", "instance-2", "balancer"):
        assert sample.resources[role].memory == "cgroup-anon"
        assert sample.resources[role].cpu_cores > 0.01, role
    assert sample.resources["server"].cpu_cores == pytest.approx(
        sample.resources["instance-1"].cpu_cores + sample.resources["instance-2"].cpu_cores,
        abs=0.02)
    assert containers("battle.role") == before


def test_the_docker_runtime_refuses_free_threaded_rows_in_one_line(tmp_path):
    """Named, a free-threaded row is a usage error and nothing starts; unnamed (`battle images`
    of every variant), those rows are left out with one line."""
    done = battle("run", "starlette-uvicorn-ft", "--runtime", "docker", *TINY[:2], "--out",
                  str(tmp_path), timeout=120)
    assert done.returncode == 2 and "local runtime only" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not list(tmp_path.iterdir())
