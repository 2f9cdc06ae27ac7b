"""Placed runs for real: the lab's three hosts (network namespaces of the suite's own, each with
its own Docker engine and sshd), client, server and database each on one, reached over ssh://
as a user reaches three VMs, real wrk, mongod and server; checked from each engine's own events
that it created only its role's containers (and the machine's own engine none of the run's),
and from the hosts' own network stacks that the load came from the client's address and the
database traffic from the server's; one line for an engine that does not answer, an image that
cannot be shipped and an address that does not answer; nothing left on any engine or in the
namespaces afterwards."""

import json

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from suite.measure import images as offline_images

from suite import REPO_ROOT
from suite.measure import lab, placement
from suite.record import results
from tests.conftest import battle

pytestmark = pytest.mark.integration
VARIANT = "starlette-uvicorn"
TINY = ["--profile", "quick", "--images", "offline", "--docs", "small", "--connections", "50",
        "--duration", "3", "--timeout", "2", "--warmup", "1"]


def engine_containers(host: lab.LabHost) -> list[str]:
    done = subprocess.run(["docker", "--host", host.engine, "ps", "-aq"], capture_output=True,
                          text=True, check=True)
    return done.stdout.split()


def created(engine: str, since: str, until: str) -> list[dict[str, str]]:
    """The attributes (labels, image, name) of every container the engine created in the
    window, from its own event log."""
    done = subprocess.run(["docker", "--host", engine, "events", "--since", since, "--until",
                           until, "--filter", "type=container", "--filter", "event=create",
                           "--format", "{{json .Actor.Attributes}}"], capture_output=True,
                          text=True, check=True, timeout=60)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def role_of(attributes: dict[str, str]) -> str:
    """Which role a placed run's container serves, by the labels the suite gave it."""
    service = attributes.get("com.docker.compose.service")
    return {"mongo": "database"}.get(service, "server") if service \
        else attributes.get("battle.role", "?")


def peers(netns: str) -> set[tuple[str, int, str]]:
    """(local address, local port, peer address) of the namespace's established TCP sockets."""
    done = subprocess.run(["nsenter", f"--net=/var/run/netns/{netns}", "ss", "-Htn", "state",
                           "established"], capture_output=True, text=True)
    found = set()
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            local, peer = fields[-2], fields[-1]
            address, _, port = local.rpartition(":")
            found.add((address, int(port), peer.rpartition(":")[0]))
    return found


@pytest.fixture(scope="module")
def lab_hosts(tmp_path_factory):
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.fail("the lab needs root and dockerd (this machine's kind has both)")
    done = battle("images", "--offline", "--no-servers", timeout=1800)
    assert done.returncode == 0, done.stderr
    up = battle("lab", "up", timeout=300)
    assert up.returncode == 0, up.stderr
    try:
        yield lab.HOSTS_FILE
        left = {host.role: engine_containers(host) for host in lab.HOSTS}
    finally:
        down = battle("lab", "down", timeout=300)   # whatever failed: no engine outlives the tests
    assert not any(left.values()), f"a test left containers behind: {left}"
    assert down.returncode == 0, down.stderr
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert "battle-" not in left, left
    assert not any(host.home.exists() for host in lab.HOSTS)
    assert subprocess.run(["ip", "link", "show", lab.UPLINK], capture_output=True).returncode
    assert not [line for line in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                                 text=True).stdout.splitlines()
                if ("dockerd" in line or "sshd" in line) and str(lab.LAB_DIR) in line
                or "dial-stdio" in line]    # no ssh:// transport's process outlives its use
    assert not lab.CLIENT_CONFIG.exists() and not lab.SSH_DIR.exists()


def test_one_cell_with_client_server_and_database_on_three_engines(lab_hosts, tmp_path):
    out, reports = tmp_path / "results", tmp_path / "reports"
    seen: dict[str, set] = {"server": set(), "db": set()}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for role in seen:
                seen[role] |= peers(f"battle-{role}")
            time.sleep(0.3)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    since = str(int(time.time()) - 1)
    try:
        done = battle("run", VARIANT, "--hosts", str(lab_hosts), *TINY, "--out", str(out),
                      "--reports", str(reports), timeout=1800)
    finally:
        stop.set()
        watcher.join(timeout=10)
    until = str(int(time.time()) + 1)
    assert done.returncode == 0, done.stderr
    # Each engine, asked by its own socket, created its role's containers and no other: the
    # ssh:// engine of a host reached that host's engine, not the machine's default socket.
    roles = {host.role: {role_of(a) for a in created(host.engine, since, until)}
             for host in lab.HOSTS}
    assert roles == {"client": {"loadgen"}, "server": {"server", "probe"},
                     "db": {"database", "probe"}}, roles
    [path] = sorted(out.glob("*.json"))
    run = results.load(path)
    assert run.version == results.VERSION and run.status == "complete"
    placed = run.runtime_details.placement
    addresses = {role: h.address for role, h in placement.load_hosts(lab_hosts).items()}
    assert {role: placed["hosts"][role]["address"] for role in addresses} == addresses
    for role, host in placed["hosts"].items():
        assert host["cpus"] >= 1 and host["memory_bytes"] > 0 and host["engine_version"], host
        assert host["engine"] == f"ssh://root@{addresses[role]}"
    project = run.runtime_details.compose["project"]
    mine = [a for a in created("unix:///var/run/docker.sock", since, until)
            if a.get("com.docker.compose.project", "").startswith(project)]
    assert mine == [], f"the machine's own engine created the run's containers: {mine}"
    # What a placed run cannot measure, it records as such, and the report says so.
    assert run.runtime_details.capabilities["connection_spread"] is False
    assert run.method["spread"].startswith("not measured:")
    links = {(link["source"], link["target"]): link for link in placed["links"]}
    assert set(links) == {("client", "server"), ("server", "db")}
    for link in links.values():
        assert link["rtt_ms"] and link["rtt_ms"] > 0 and link["gbit_s"] and link["gbit_s"] > 0, link
    # Every engine ran the controller's image IDs.
    # (the client's image, the offline base with wrk, which every engine receives; the
    # servers' base on it carries the servers' CPython)
    loadgen = offline_images.IMAGE_SETS["offline"]["BATTLE_LOADGEN_IMAGE"]
    ids = {role: images[loadgen] for role, images in placed["images"].items()}
    assert len(set(ids.values())) == 1 and next(iter(ids.values())).startswith("sha256:")
    [variant] = run.variants
    assert variant.status == "measured", variant.reason
    assert all(check.passed for check in variant.verification)
    assert addresses["server"] in variant.command, variant.command
    assert run.mongo.url.startswith(f"mongodb://{addresses['db']}:")
    [sample] = variant.cell("small", 50).repeats
    assert sample.ok_requests > 0 and sample.errors["body"] == 0
    assert sample.database is not None and sample.database.finds >= sample.ok_requests
    for role in ("loadgen", "server", "mongod"):
        usage = sample.resources[role]
        assert usage.memory == "cgroup-anon" and usage.cpu_cores > 0, (role, usage)
    assert sample.listen_drops is not None
    # "machine" is the server's host, read through its engine (the lab: this box).
    assert sample.resources["machine"].cpus == placed["hosts"]["server"]["cpus"]
    # Seen from the hosts' own network stacks: the server's port had the client's address as
    # its peer, mongod's port the server's; the client never talked to the database.
    port = int(variant.command[variant.command.index("--port") + 1]) \
        if "--port" in variant.command else None
    server_peers = {peer for address, local_port, peer in seen["server"]
                    if address == addresses["server"] and (port is None or local_port == port)}
    assert addresses["client"] in server_peers, seen["server"]
    mongo_port = int(run.mongo.url.rsplit(":", 1)[1])
    db_peers = {peer for address, local_port, peer in seen["db"] if local_port == mongo_port}
    assert addresses["server"] in db_peers and addresses["client"] not in db_peers, seen["db"]
    text = (reports / f"{run.run_id}.md").read_text()
    first = "\n".join(text.splitlines()[:6])
    assert "**Placement: three engines.**" in first and addresses["db"] in first
    assert "Not measured in this run: the connections per worker process" in first
    for host in lab.HOSTS:
        assert engine_containers(host) == []


def placed_run(lab_hosts, tmp_path, *extra: str) -> results.RunResult:
    """One placed run of VARIANT with `extra` options; its results, checked complete."""
    out = tmp_path / "results"
    done = battle("run", VARIANT, "--hosts", str(lab_hosts), "--profile", "quick", "--images",
                  "offline", "--connections", "50", "--duration", "3", "--timeout", "2",
                  "--warmup", "0", *extra, "--out", str(out), "--reports",
                  str(tmp_path / "reports"), timeout=1800)
    assert done.returncode == 0, done.stderr
    [path] = sorted(out.glob("*.json"))
    run = results.load(path)
    assert run.status == "complete" and run.runtime_details.placement, run.reason
    return run


def placement_line(run: results.RunResult, tmp_path) -> str:
    """The report's placement line (its first screen) of a placed_run."""
    text = (tmp_path / "reports" / f"{run.run_id}.md").read_text()
    [line] = [line for line in text.splitlines() if line.startswith("**Placement: ")]
    return line


def test_placed_writes_are_counted_in_the_database_on_the_db_host(lab_hosts, tmp_path):
    run = placed_run(lab_hosts, tmp_path, "--docs", "write")
    [variant] = run.variants
    assert variant.status == "measured", variant.reason
    [sample] = variant.cell("write", 50).repeats
    writes = sample.writes
    # wrk's ids came out of the client container; every one was found in mongod on the db host.
    assert writes is not None and writes.acknowledged > 0, sample
    # Stored: also the inserts whose answers were still on their way when the repeat ended.
    assert writes.found == writes.acknowledged <= writes.stored == writes.distinct
    assert sample.errors["lost-write"] == 0 and sample.ok_requests == writes.acknowledged
    assert not list((tmp_path / "results").rglob("*.ids.*"))   # counted, then removed
    assert "ids copied out of the client container and counted in mongod on the db host" in \
        placement_line(run, tmp_path)
    for host in lab.HOSTS:
        assert engine_containers(host) == []


def test_placed_oha_crosschecks_and_open_loop_cells_run_on_the_client(lab_hosts, tmp_path):
    run = placed_run(lab_hosts, tmp_path, "--docs", "small", "--crosscheck", "oha",
                     "--rate", "100")
    assert run.crosscheck["tool"] == "oha" and "client engine" in run.crosscheck["where"]
    assert run.open_loop["tool"] == "oha"
    [variant] = run.variants
    assert variant.status == "measured", variant.reason
    cell = variant.cell("small", 50)
    [sample], [second] = cell.repeats, cell.crosschecks
    assert (sample.generator, second.generator) == ("wrk", "oha")
    assert second.ok_requests > 0 and second.errors["body"] == 0
    assert second.resources["loadgen"].memory == "cgroup-anon"    # the client container's
    [rate_cell] = variant.rate_cells
    [open_loop] = rate_cell.repeats
    assert open_loop.generator == "oha" and open_loop.rate == 100
    assert open_loop.requests > 0 and open_loop.latency_count > 0
    assert not list((tmp_path / "results").rglob("*.sqlite"))    # summarized, then removed
    assert "oha (cross-checks and open-loop cells) in the client container" in \
        placement_line(run, tmp_path)
    for host in lab.HOSTS:
        assert engine_containers(host) == []


def test_a_placed_deployment_runs_nginx_and_its_instances_on_the_server_host(lab_hosts,
                                                                              tmp_path):
    since = str(int(time.time()) - 1)
    run = placed_run(lab_hosts, tmp_path, "--docs", "small", "--instances", "2", "--balancer",
                     "nginx")
    until = str(int(time.time()) + 1)
    server = lab.HOSTS[1]
    [variant] = run.variants
    assert variant.status == "measured", variant.reason
    deployment = variant.deployment
    assert deployment is not None and deployment.instances == 2 and deployment.version
    # nginx's configuration as shipped: it listens at, and reaches its instances at, the
    # server host's address.
    assert f"listen {server.address}:" in deployment.config
    assert deployment.config.count(f"server {server.address}:") == 2
    [sample] = variant.cell("small", 50).repeats
    assert sample.ok_requests > 0 and sample.errors["body"] == 0
    assert {"balancer", "instance-1", "instance-2"} <= set(sample.resources)
    # wrk's connections end at nginx: their spread is over nginx's workers, read in its
    # container on the server's engine.
    assert "nginx and its instances on the server engine" in placement_line(run, tmp_path)
    services = {role: sorted(a.get("com.docker.compose.service", a.get("battle.role", "?"))
                             for a in created(host.engine, since, until))
                for role, host in zip(lab.ROLES, lab.HOSTS)}
    service = next(s for s in services["server"] if s not in ("balancer", "probe"))
    assert services["server"].count("balancer") == 1 and services["server"].count(service) == 2
    assert "balancer" not in services["client"] + services["db"], services
    for host in lab.HOSTS:
        assert engine_containers(host) == []


def one_error_line(done: subprocess.CompletedProcess) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("battle: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    return errors[0]


def hosts_file(tmp_path, **changes) -> str:
    text = lab.hosts_toml()
    for old, new in changes.values():
        text = text.replace(old, new)
    path = tmp_path / "hosts.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("engine", ["unix:///nonexistent/docker.sock",
                                    f"ssh://root@{lab.CONTROLLER}"])   # no sshd listens there
def test_an_engine_that_does_not_answer_is_one_line(lab_hosts, tmp_path, engine):
    server = lab.HOSTS[1]
    path = hosts_file(tmp_path, engine=(server.ssh_engine, engine))
    done = battle("run", VARIANT, "--hosts", path, *TINY, "--out", str(tmp_path / "r"),
                  timeout=300)
    assert done.returncode == 1
    assert f"the server engine {engine} does not answer" in one_error_line(done)
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").glob("*.json"))


def test_the_labs_ssh_engines_reach_each_hosts_own_engine(lab_hosts):
    """Docker over ssh runs `docker system dial-stdio` on the far side: each host's sshd gives
    it that host's engine, not the machine's default socket."""
    for host in lab.HOSTS:
        done = subprocess.run(["docker", "--host", host.ssh_engine, "info", "--format",
                               "{{.DockerRootDir}}"], capture_output=True, text=True,
                              timeout=60)
        assert done.stdout.strip() == str(host.home / "data"), done.stderr
    sockets = placement.load_hosts(lab.SOCKETS_FILE)
    assert {role: h.engine for role, h in sockets.items()} == \
        {host.role: host.engine for host in lab.HOSTS}


def test_an_address_that_does_not_answer_is_one_line_and_nothing_is_left(lab_hosts, tmp_path):
    db = lab.HOSTS[2]
    path = hosts_file(tmp_path, address=(f'address = "{db.address}"',
                                         f'address = "{lab.SUBNET}.99"'))
    done = battle("run", VARIANT, "--hosts", path, *TINY, "--out", str(tmp_path / "r"),
                  timeout=600)
    assert done.returncode == 1
    assert f"the db address {lab.SUBNET}.99 does not answer from the server host" in \
        one_error_line(done)
    for host in lab.HOSTS:
        assert engine_containers(host) == []


def test_an_image_that_cannot_be_shipped_is_one_line(lab_hosts):
    with pytest.raises(placement.PlacementError) as error:
        placement.ship("battle/not-built:offline", "sha256:0", placement.load_hosts(
            lab_hosts)["client"])
    assert "cannot ship battle/not-built:offline to the client engine" in str(error.value)
    assert "\n" not in str(error.value)


def test_ctrl_c_removes_every_container_on_every_engine(lab_hosts, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "run", VARIANT, "--hosts", str(lab_hosts),
         "--profile", "quick", "--images", "offline", "--docs", "small", "--connections", "50",
         "--duration", "30", "--warmup", "0", "--out", str(tmp_path / "r"), "--reports",
         str(tmp_path / "reports")], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    owner = f"{socket.gethostname()}:{process.pid}"
    try:
        printed = []
        for line in process.stderr:
            printed.append(line)
            if "verified" in line:
                break
        running = {host.role: engine_containers(host) for host in lab.HOSTS}
        assert all(running.values()), running    # client, server and mongod containers
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=120)
        assert process.returncode == 130, "".join(printed) + rest
    finally:
        process.kill()
        process.wait()
    for host in lab.HOSTS:
        left = subprocess.run(["docker", "--host", host.engine, "ps", "-aq", "--filter",
                               f"label=battle.owner={owner}"], capture_output=True, text=True)
        assert left.stdout.split() == [], host.role
    run = results.load(sorted((tmp_path / "r").glob("*.json"))[0])
    assert run.status == "interrupted"
