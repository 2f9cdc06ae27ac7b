"""Placement: which Docker engine runs each role of a run, and what lies between them.

`battle run --hosts hosts.toml` places the three roles the way TechEmpower's toolset places its
client, server and database hosts: each on a Docker engine the one controller (this process)
drives with the Docker CLI, every container on its engine's host network. hosts.toml:

    [client]                      # wrk, in a container on this engine
    engine = "ssh://bench@10.0.0.11"     # anything `docker --host` takes, or a context name
    address = "10.0.0.11"         # where the others reach this host (the client: unused by
                                  # the others, recorded and checked)
    [server]                      # the variant's container
    engine = "ssh://bench@10.0.0.12"
    address = "10.0.0.12"         # wrk and the controller connect here
    [db]                          # mongod's container
    engine = "tcp://10.0.0.13:2376"
    address = "10.0.0.13"         # the server and the controller connect here

An optional `machine = "..."` names a host in the report. No registry is needed: images the
controller's own engine has are shipped to the engine of each role with `docker save | docker
load` (skipped when the engine already holds the same image ID), and every container's image ID
is checked against the controller's.

Before the first cell, this module records each engine's machine (CPU model and count, memory,
kernel, engine version) and measures the round trip and the throughput client -> server and
server -> db with containers on those engines (iperf3 and a TCP connect loop, in the load
generator's image). No figure depends on two hosts' clocks: wrk times requests on the client
alone, CPU and memory are differences of one engine's own counters; so no clock offset is needed
or recorded.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from suite.measure import command
from suite.measure.command import CommandError
from suite.measure.procs import Child
from suite.measure.text import last_line

ROLES = ("client", "server", "db")
ROLE_KEYS = ("engine", "address", "machine", "cpus")
IPERF_PORT = 5201
ECHO_PORT = 5202        # the connect loop's listener (iperf3 reopens its own between tests)
IPERF_SECONDS = 3
RTT_CONNECTS = 50


class PlacementError(Exception):
    """A hosts file is wrong, an engine does not answer, an image cannot be shipped, or an
    address does not answer: one line says which role and why."""


@dataclass(frozen=True)
class Host:
    """One role's engine and the address the other roles reach it at."""

    role: str
    engine: str
    address: str
    machine: str = ""
    # The host's CPUs as the hosts file declares them (None: not declared; the engine says
    # when the run opens, and a declared count must agree with it). A sweep on --hosts needs
    # the server's: its values resolve before any engine is reached.
    cpus: int | None = None

    def docker(self) -> list[str]:
        """The Docker CLI aimed at this engine: an endpoint URL (--host) or a context name."""
        flag = "--host" if "://" in self.engine else "--context"
        return ["docker", flag, self.engine]


def load_hosts(path: Path) -> dict[str, Host]:
    """hosts.toml -> role -> Host; PlacementError naming the first thing wrong."""
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise PlacementError(f"cannot read hosts file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlacementError(f"hosts file {path}: {exc}") from None
    unknown = sorted(set(data) - set(ROLES))
    if unknown:
        raise PlacementError(f"hosts file {path}: unknown role [{unknown[0]}] (roles: "
                             f"{', '.join(ROLES)})")
    hosts = {}
    for role in ROLES:
        table = data.get(role)
        if not isinstance(table, dict):
            raise PlacementError(f"hosts file {path}: no [{role}] table (each of "
                                 f"{', '.join(ROLES)} needs engine and address)")
        extra = sorted(set(table) - set(ROLE_KEYS))
        if extra:
            raise PlacementError(f"hosts file {path}: [{role}] has an unknown key {extra[0]!r}")
        for key in ("engine", "address"):
            if not isinstance(table.get(key), str) or not table[key].strip():
                raise PlacementError(f"hosts file {path}: [{role}] needs {key} = \"...\"")
        cpus = table.get("cpus")
        if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int)
                                 or cpus < 1):
            raise PlacementError(f"hosts file {path}: [{role}] cpus must be a positive whole "
                                 f"number, got {cpus!r}")
        hosts[role] = Host(role, table["engine"].strip(), table["address"].strip(),
                           str(table.get("machine", "")).strip(), cpus)
    return hosts


def engine_run(host: Host, *args: str, timeout: float = 120,
               check: bool = False) -> subprocess.CompletedProcess:
    """The docker CLI on a role's engine; no answer in time is a PlacementError naming it."""
    try:
        done = command.run([*host.docker(), *args], timeout=timeout,
                           what=f"docker {args[0]} on the {host.role} engine ({host.engine})")
    except CommandError as exc:
        if exc.missing:
            raise PlacementError("docker not found: install the Docker CLI") from None
        raise PlacementError(str(exc)) from None
    if check and done.returncode != 0:
        raise PlacementError(f"docker {args[0]} on the {host.role} engine ({host.engine}): "
                             f"{last_line(done.stderr or done.stdout)}")
    return done


def check_engine(host: Host) -> str:
    """The engine's version; PlacementError in one line when it does not answer."""
    try:
        done = engine_run(host, "version", "--format", "{{.Server.Version}}", timeout=30)
    except PlacementError as exc:
        raise PlacementError(f"the {host.role} engine {host.engine} does not answer: "
                             f"{exc}") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise PlacementError(f"the {host.role} engine {host.engine} does not answer: "
                             f"{last_line(done.stderr or done.stdout)}")
    return done.stdout.strip()


@dataclass
class Machine:
    """What a role's engine says about its machine, and the CPU model a container reads."""

    engine_version: str
    name: str
    cpus: int
    memory_bytes: int
    kernel: str
    os: str
    cgroup_version: int
    cpu_model: str = ""
    # The host network's TCP settings that decide how many connections a host can open and
    # accept per second (read in a container on its host network: the host's own values).
    tcp: dict[str, str] = field(default_factory=dict)


def machine_of(host: Host, container: str) -> Machine:
    """The engine's `docker info`, and the CPU model and TCP settings read in `container` (an
    exec container on it: start_exec_container)."""
    info = json.loads(engine_run(host, "info", "--format", "{{json .}}", timeout=30,
                                 check=True).stdout)
    model = engine_run(host, "exec", container, "python3", "-c", _CPU_MODEL, timeout=60)
    tcp = engine_run(host, "exec", container, "python3", "-c", _TCP_SETTINGS, timeout=60)
    return Machine(engine_version=info.get("ServerVersion", ""), name=info.get("Name", ""),
                   cpus=int(info.get("NCPU") or 0), memory_bytes=int(info.get("MemTotal") or 0),
                   kernel=info.get("KernelVersion", ""), os=info.get("OperatingSystem", ""),
                   cgroup_version=int(info.get("CgroupVersion") or 1),
                   cpu_model=model.stdout.strip() if model.returncode == 0 else "",
                   tcp=json.loads(tcp.stdout) if tcp.returncode == 0 else {})


def start_exec_container(host: Host, image: str, labels: list[str]) -> str:
    """A container that sleeps on the host's network, to `docker exec` measurements in: one per
    engine, since creating a container costs seconds on some storage drivers (vfs copies the
    whole image)."""
    label_args = [arg for label in labels for arg in ("--label", label)]
    done = engine_run(host, "run", "-d", "--network", "host", "--init", *label_args,
                      "--entrypoint", "sleep", image, "infinity", timeout=120)
    if done.returncode != 0:
        raise PlacementError(f"a container did not start on the {host.role} engine "
                             f"({host.engine}): {last_line(done.stderr)}")
    return done.stdout.strip()


TCP_SETTINGS = ("net/ipv4/tcp_tw_reuse", "net/ipv4/ip_local_port_range", "net/core/somaxconn",
                "net/ipv4/tcp_max_syn_backlog")
_TCP_SETTINGS = f"""\
import json
values = {{}}
for name in {TCP_SETTINGS!r}:
    try:
        values[name.rsplit("/", 1)[1]] = " ".join(open("/proc/sys/" + name).read().split())
    except OSError:
        pass
print(json.dumps(values))
"""

_CPU_MODEL = """\
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        print(line.split(":", 1)[1].strip())
        break
"""


def image_id_on(host: Host, image: str) -> str | None:
    done = engine_run(host, "image", "inspect", "--format", "{{.Id}}", image, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else None


def ship(image: str, local_id: str, host: Host, progress=None) -> str:
    """Make `image` (ID `local_id` on the controller's engine) present on the role's engine,
    with `docker save | docker load` when it is not there already; returns the ID there, which
    must be the same. One line when it cannot."""
    if image_id_on(host, image) == local_id:
        return local_id
    if progress:
        progress(f"shipping {image} to the {host.role} engine ({host.engine})")
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        load = subprocess.run([*host.docker(), "load", "--quiet"], stdin=save.stdout,
                              capture_output=True, text=True, timeout=1800)
    except subprocess.TimeoutExpired:
        raise PlacementError(f"shipping {image} to the {host.role} engine took over 30 min") \
            from None
    finally:
        save.stdout.close()
        save.kill() if save.poll() is None else None
        save.wait()
    if save.returncode not in (0, -9) or load.returncode != 0:
        why = save.stderr.read().decode(errors="replace") if save.returncode else load.stderr
        save.stderr.close()
        raise PlacementError(f"cannot ship {image} to the {host.role} engine "
                             f"({host.engine}): {last_line(why)}")
    save.stderr.close()
    there = image_id_on(host, image)
    if there != local_id:
        raise PlacementError(f"the {host.role} engine holds {image} as {str(there)[:19]}, not "
                             f"{local_id[:19]} after loading it")
    return there


@dataclass
class Link:
    """What the network between two roles measured, from a container on each engine."""

    source: str
    target: str
    rtt_ms: float | None            # median TCP connect time, idle link
    rtt_ms_p90: float | None
    gbit_s: float | None            # iperf3, one TCP stream, IPERF_SECONDS
    retransmits: int | None = None
    detail: str = ""


_CONNECT_LOOP = """\
import socket, statistics, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(count):
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=5):
        times.append((time.perf_counter() - start) * 1000)
times.sort()
print(statistics.median(times), times[int(len(times) * 0.9)])
"""


_LISTENER = """\
import socket, sys
server = socket.create_server((sys.argv[1], int(sys.argv[2])), backlog=128)
while True:
    server.accept()[0].close()
"""


def measure_link(source: Host, source_container: str, target: Host, target_container: str
                 ) -> Link:
    """In the target's exec container, at its address: a listener that accepts and closes, and
    iperf3's server; in the source's, a connect loop (the idle round trip: a TCP connect is one)
    and iperf3's client. The containers' owner removes them, and with them these processes."""
    for argv in (["python3", "-c", _LISTENER, target.address, str(ECHO_PORT)],
                 ["iperf3", "-s", "-B", target.address, "-p", str(IPERF_PORT)]):
        engine_run(target, "exec", "-d", target_container, *argv, timeout=60, check=True)
    _wait_listening(source, source_container, target)
    connects = engine_run(source, "exec", source_container, "python3", "-c", _CONNECT_LOOP,
                          target.address, str(ECHO_PORT), str(RTT_CONNECTS), timeout=60)
    rtt = [float(x) for x in connects.stdout.split()] if connects.returncode == 0 else []
    flow = engine_run(source, "exec", source_container, "iperf3", "-c", target.address, "-p",
                      str(IPERF_PORT), "-t", str(IPERF_SECONDS), "-J", timeout=IPERF_SECONDS + 60)
    gbit, retrans, detail = None, None, ""
    try:
        end = json.loads(flow.stdout)["end"]
        gbit = round(end["sum_received"]["bits_per_second"] / 1e9, 3)
        retrans = end["sum_sent"].get("retransmits")
    except (json.JSONDecodeError, KeyError, TypeError):
        detail = f"iperf3: {last_line(flow.stderr or flow.stdout)}"
    if not rtt:
        detail = f"connect loop: {last_line(connects.stderr or connects.stdout)}"
    return Link(source=source.role, target=target.role,
                rtt_ms=round(rtt[0], 3) if rtt else None,
                rtt_ms_p90=round(rtt[1], 3) if rtt else None,
                gbit_s=gbit, retransmits=retrans, detail=detail)


def _wait_listening(source: Host, source_container: str, target: Host) -> None:
    """The listener needs a moment: connect from the source until it answers. An address
    nothing answers at fails here, in one line."""
    deadline = time.monotonic() + 15
    while True:
        done = engine_run(source, "exec", source_container, "python3", "-c", _CONNECT_LOOP,
                          target.address, str(ECHO_PORT), "1", timeout=30)
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise PlacementError(f"the {target.role} address {target.address} does not answer "
                                 f"from the {source.role} host: {last_line(done.stderr)}")
        time.sleep(0.5)


@dataclass
class PlacementRecord:
    """What results record about a placed run (runtime_details.placement)."""

    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)   # role -> engine, address,
    #                                                                  machine label, Machine
    links: list[dict[str, Any]] = field(default_factory=list)        # Link, as dicts
    images: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> image -> ID

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(hosts: dict[str, Host], machines: dict[str, Machine]) -> dict[str, dict[str, Any]]:
    return {role: {"engine": host.engine, "address": host.address, "machine": host.machine,
                   **asdict(machines[role])} for role, host in hosts.items()}



class EngineSocket:
    """A unix socket on this machine that reaches a role's engine through the Docker CLI's own
    transport: every connection to it becomes `docker --host URL system dial-stdio` (or
    `--context NAME`), with the connection as its stdin and stdout. Compose talks to it as to a
    local engine: Compose v1's own ssh transport (docker-py's) took a minute per `up` in the
    lab and left its `ssh` processes running after it had been stopped, while the Docker CLI's
    transport is what every other call of a placed run uses. Used as a context manager: on
    exit the socket is gone and every dial-stdio it started is stopped."""

    def __init__(self, host: Host, path: Path):
        self.host = host
        self.path = path
        self.children: list[Child] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def __enter__(self) -> "EngineSocket":
        self.path.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen(64)
        threading.Thread(target=self._accept, name=f"engine-socket-{self.host.role}",
                         daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:          # closed: the socket's owner is done with it
                return
            with connection:         # the child keeps its own copy of the descriptor
                try:
                    child = Child([*self.host.docker(), "system", "dial-stdio"],
                                  stdio=connection.fileno())
                except OSError:
                    continue
            with self._lock:
                self.children = [c for c in self.children if c.alive()] + [child]

    def __exit__(self, *exc: object) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            children, self.children = self.children, []
        # Each ends by itself once its client has closed the connection (then the far side's
        # dial-stdio ends too); one stopped mid-connection can leave that one waiting there.
        deadline = time.monotonic() + 5
        while any(child.alive() for child in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        for child in children:
            child.stop(grace=2)
        self.path.unlink(missing_ok=True)
