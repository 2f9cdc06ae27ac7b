"""What a docker runtime with its roles on separate engines adds (`battle run --hosts
hosts.toml`): the Placement its DockerRuntime is composed with.

The same containers as on one engine (the same compose file, images and labels), but the
database runs on the db host's engine, bound to its address; the variant on the server host's
engine, bound to its address; and the load generator in a container on the client host's
engine, which the controller (this process) `docker exec`s for every execution. Nothing of this
machine's filesystem is mounted into them: a remote engine cannot see it. The catalog, wrk's Lua,
the expected bodies and a deployment's nginx configuration are copied in (`docker cp`), images
shipped (suite.measure.placement.ship). No engine is reached before the runtime opens: `--plan`
reaches none.

Verification, the idle wait, MongoDB's counters and its fail point are driven from the
controller over the network, as TechEmpower's toolset does from its own host: the controller
must reach the server's and the database's addresses. CPU and memory come from each container's
cgroup on its own engine (engine_readers.EngineCgroup), read at the start and the end of each
execution; the listen queue's drops from the server host's network namespace (its container
shares it). What a placed run cannot measure (the connections' spread over the server's
workers, the machine's calibration) capabilities.PLACED declares, and the report says so.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path

from suite.measure import command
from suite.measure.command import CommandError
from suite.measure.images import ImageError, build_loadgen, image_id
from suite.measure.loadgen import (SCRIPT, Execution, LoadGenError, Oha, Wrk, find_oha, oha_rows,
                                   parse_output, reading_spread, wrk_description)
from suite.measure.engine_readers import EngineCgroup, EngineMachine
from suite.measure.placement import (EngineSocket, Host, Machine, PlacementError, PlacementRecord,
                                     check_engine, describe, machine_of, measure_link, ship,
                                     start_exec_container)
from suite.measure.procs import Child
from suite.measure.resources import Monitor, local_machine
from suite.measure.runtime import RuntimeUnavailable, ServerFailed
from suite.measure.runtime.containers import Container, docker, sweep_orphans
from suite.measure.runtime.docker import Engine
from suite.measure.text import last_line, to_stderr
from suite.record.results import RuntimeDetails, Sample

CLIENT_DIR = "/opt/battle-wrk"      # wrk's Lua and the expected bodies, in the client container
CLIENT_IDS = f"{CLIENT_DIR}/ids"    # a write execution's acknowledged ids, before they are copied
CLIENT_OUT = f"{CLIENT_DIR}/out"    # oha's summary and records, before they are copied
CLIENT_BIN = f"{CLIENT_DIR}/bin"    # programs copied in from the controller (oha)


class Placement:
    """Roles on engines: `hosts` role -> placement.Host (client, server, db). It reaches each
    engine (version, CPUs) when the runtime opens, ships images to them, describes each
    machine, measures the links between them, and holds the client container the load
    generators run in. `recorded_cpus`: each host's CPUs as the run being resumed recorded them
    (its settings were resolved for them)."""

    def __init__(self, hosts: dict[str, Host], recorded_cpus: dict[str, int] | None = None):
        self.hosts = hosts
        self._engines = {role: Engine(tuple(host.docker()), host.address, host.engine)
                         for role, host in hosts.items()}
        self.versions: dict[str, str] = {}
        # Each host's CPUs as expected until open() asks its engine (which must agree).
        self.expected = {role: (n, "the run being resumed recorded")
                         for role, n in (recorded_cpus or {}).items() if n}
        self.expected.update({role: (host.cpus, "the hosts file gives")
                              for role, host in hosts.items() if host.cpus})
        self.cpus = {role: n for role, (n, _) in self.expected.items()}
        self.machines: dict[str, Machine] = {}
        self.client: Container | None = None
        self.images: dict[str, str] = {}
        self.owner = ""
        self.sockets: dict[str, EngineSocket] = {}    # while open: compose's way to engines
        self._copied: set[str] = set()
        # (image, ID, role) found on the role's engine while open: asked once per run.
        self._shipped: set[tuple[str, str, str]] = set()

    def engines(self) -> dict[str, Engine]:
        return self._engines

    def cli(self, role: str) -> tuple[str, ...]:
        return self._engines[role].cli

    def cpus_of(self, role: str) -> int:
        """The role's host's CPUs: its engine's count once open, else as declared or recorded.
        With neither, 1 stands in: the only use before open is checking that the catalog's
        settings resolve (the runner resolves a run's settings after open; a sweep needs the
        count declared)."""
        return self.cpus.get(role, 1)

    def cgroup_version(self, role: str) -> int:
        return self.machines[role].cgroup_version

    def reach(self) -> None:
        """Each role's engine version and CPUs, asked once, when the runtime opens."""
        try:
            for role, host in self.hosts.items():
                self.versions[role] = check_engine(host)
                found = int(json.loads(docker("info", "--format", "{{json .}}", timeout=30,
                                              cli=self.cli(role)).stdout)["NCPU"])
                expected, source = self.expected.get(role, (found, ""))
                if expected != found:
                    raise PlacementError(f"the {role} host has {found} CPUs (its engine "
                                         f"{host.engine}); {source} {expected}")
                self.cpus[role] = found
        except (PlacementError, ServerFailed, ValueError, KeyError) as exc:
            raise RuntimeUnavailable(str(exc)) from None

    def generator(self, name: str, timeout_s: int) -> "PlacedWrk | PlacedOha":
        """The generator in the client host's container (wrk, or oha copied in)."""
        kinds = {"wrk": PlacedWrk, "oha": PlacedOha}
        if name not in kinds:
            raise LoadGenError(f"{name} does not run in a placed run")
        return kinds[name](self, timeout_s)

    def loadgen_image(self) -> str:
        return self.images["BATTLE_LOADGEN_IMAGE"]

    def ship(self, image: str, local_id: str, role: str) -> None:
        """`image`, built on the controller's engine, onto the role's; ServerFailed if not.
        An image already found there in this run is not asked for again (an ID names its
        content: a rebuilt image has another)."""
        if (image, local_id, role) in self._shipped:
            return
        try:
            ship(image, local_id, self.hosts[role], to_stderr)
        except PlacementError as exc:
            raise ServerFailed(str(exc)) from None
        self._shipped.add((image, local_id, role))

    @contextmanager
    def open(self, runtime, details: RuntimeDetails) -> Iterator[RuntimeDetails]:
        """On each role's engine: orphans swept, the load generator's image (and the
        database's) shipped, each machine described, the links measured, the client container
        started; `details` completed with all of it. On exit, the client container is gone
        (the runtime removes its containers on every engine)."""
        self.images, self.owner = runtime.images, runtime.owner
        with ExitStack() as stack:
            # Compose reaches the server's and the database's engines through sockets of this
            # machine's that dial them with the Docker CLI (placement.EngineSocket).
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="battle-")))
            self.sockets = {role: stack.enter_context(EngineSocket(self.hosts[role],
                                                                   folder / f"{role}.sock"))
                            for role in ("server", "db")}
            try:
                yield self._place(details)
            finally:
                self.client = None
                self._copied.clear()
                self._shipped.clear()
                self.sockets = {}

    def compose_env(self, role: str, env: dict[str, str]) -> dict[str, str]:
        """Compose's environment aimed at the role's engine (through its socket here)."""
        env = {k: v for k, v in env.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")}
        return {**env, "DOCKER_HOST": self.sockets[role].url}

    def _owner_label(self) -> str:
        return f"battle.owner={self.owner}"

    def _place(self, details: RuntimeDetails) -> RuntimeDetails:
        record = PlacementRecord()
        try:
            for role in self.hosts:
                details.orphans_removed += sweep_orphans(cli=self.cli(role))
            loadgen = self.loadgen_image()
            # The offline set's client is its base (wrk and iperf3 in it); with a registry the
            # client image is built on the servers' base.
            if self.images["BATTLE_IMAGES"] != "offline":
                build_loadgen(loadgen, self.images["BATTLE_SERVER_BASE"])
            local = {image: image_id(image) for image in (loadgen, self.images["BATTLE_MONGO_IMAGE"])}
            for image, found in local.items():
                if found is None:
                    raise RuntimeUnavailable(f"image {image} is missing on this machine's engine: "
                                             "run `make images-offline` first")
            for role, host in self.hosts.items():
                shipped = [loadgen] + ([self.images["BATTLE_MONGO_IMAGE"]] if role == "db" else [])
                record.images[role] = {image: ship(image, local[image], host, to_stderr)
                                       for image in shipped}
            # One container per engine to measure from (the client's is wrk's, for the run).
            self._start_client()
            labels = [self._owner_label(), "battle.role=probe"]
            exec_containers = {"client": self.client.id,
                               **{role: start_exec_container(self.hosts[role], loadgen, labels)
                                  for role in ("server", "db")}}
            try:
                for role, host in self.hosts.items():
                    self.machines[role] = machine_of(host, exec_containers[role])
                record.hosts = describe(self.hosts, self.machines)
                reuse = self.machines["client"].tcp.get("tcp_tw_reuse")
                if reuse not in (None, "1"):
                    to_stderr(f"note: the client host has net.ipv4.tcp_tw_reuse={reuse}: against "
                               "a server that closes every connection, its ports run out in "
                               "TIME_WAIT (connect() then costs wrk's CPU); set it to 1 there, "
                               "as `battle lab up` does (docs/placement.md)")
                for source, target in (("client", "server"), ("server", "db")):
                    link = measure_link(self.hosts[source], exec_containers[source],
                                        self.hosts[target], exec_containers[target])
                    record.links.append(asdict(link))
            finally:
                for role in ("server", "db"):
                    docker("rm", "-f", exec_containers[role], timeout=60, cli=self.cli(role))
        except PlacementError as exc:
            raise RuntimeUnavailable(str(exc)) from None
        except (ServerFailed, ImageError) as exc:
            raise RuntimeUnavailable(f"placing the roles: {exc}") from None
        details.placement = record.to_dict()
        details.engine = f"{details.engine} (controller); " + ", ".join(
            f"{role} {version}" for role, version in self.versions.items())
        details.limits = {"server": {"cpuset": "", "memory": details.limits["server"]["memory"]}}
        return details

    def _start_client(self) -> None:
        """wrk's container for the run, with the suite's Lua copied in."""
        cli = self.cli("client")
        cid = start_exec_container(self.hosts["client"], self.loadgen_image(),
                          [self._owner_label(), "battle.role=loadgen"])
        self.client = Container(cid, None, cli)
        docker("exec", self.client.id, "mkdir", "-p", f"{CLIENT_DIR}/expected", cli=cli)
        copied = docker("cp", f"{SCRIPT.parent}/.", f"{self.client.id}:{CLIENT_DIR}", cli=cli)
        if copied.returncode != 0:
            raise PlacementError(f"cannot copy wrk's scripts into the client container: "
                                 f"{last_line(copied.stderr)}")

    def client_path(self, local: Path) -> str:
        """`local` copied into the client container (once); its path there."""
        target = f"{CLIENT_DIR}/expected/{local.parent.name}-{local.name}"
        return self._copy_in(local, target)

    def client_program(self, local: Path) -> str:
        """A program of the controller's copied into the client container (once); its path
        there."""
        return self._copy_in(local, f"{CLIENT_BIN}/{local.name}")

    def _copy_in(self, local: Path, target: str) -> str:
        if target not in self._copied:
            client = self.client
            if client is None:
                raise LoadGenError("the client container is not running")
            docker("exec", client.id, "mkdir", "-p", str(Path(target).parent), cli=client.cli)
            done = docker("cp", str(local), f"{client.id}:{target}", cli=client.cli)
            if done.returncode != 0:
                raise LoadGenError(f"cannot copy {local.name} into the client container: "
                                   f"{last_line(done.stderr)}")
            self._copied.add(target)
        return target


class ClientExec:
    """One execution of a load generator in the client host's container, `docker exec`ed
    through the client's engine: its output, exit status and the roles' resources. Its CPU
    is the client container's cgroup (all the generator does there), read at the start and
    end of the execution."""

    def __init__(self, placement: Placement, tool: str):
        self.placement = placement
        self.tool = tool

    def client(self) -> Container:
        if self.placement.client is None:
            raise LoadGenError("the client container is not running")
        return self.placement.client

    def __call__(self, argv: list[str], env: dict[str, str], limit_s: float,
                 watch=None, read_spread=None, spread_at_s: float = 0.0) -> Execution:
        client = self.client()
        pairs = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        cgroup = EngineCgroup(client.cli, client.id, self.placement.cgroup_version("client"))
        server = (watch or {}).get("server")
        # "machine" is the server's host (on one machine, the one everything shares).
        machine = EngineMachine(server.cli, server.container) \
            if isinstance(server, EngineCgroup) else local_machine
        monitor = Monitor({**(watch or {}), "loadgen": cgroup}, machine=machine).start() \
            if watch is not None else None
        child = Child([*client.cli, "exec", *pairs, client.id, *argv])
        try:
            with reading_spread(read_spread, spread_at_s) as spread_read:
                output = child.communicate(timeout=limit_s)
        except subprocess.TimeoutExpired:
            raise LoadGenError(f"{self.tool} on the client host did not finish within "
                               f"{limit_s:g} s") from None
        finally:
            usage = monitor.stop() if monitor else None
            child.stop(grace=2)
        return Execution(output, child.returncode, usage, spread_read[0] if spread_read else None)

    def fetch(self, inside: str, local: Path) -> None:
        """A file the generator left in the client container, copied here (`dir/.`: what the
        directory holds, into the directory `local`)."""
        client = self.client()
        (local if inside.endswith("/.") else local.parent).mkdir(parents=True, exist_ok=True)
        done = docker("cp", f"{client.id}:{inside}", str(local), cli=client.cli)
        if done.returncode != 0:
            raise LoadGenError(f"cannot copy {inside} out of the client container: "
                               f"{last_line(done.stderr)}")

    def clear(self, directory: str) -> None:
        """An empty `directory` in the client container (what the last execution left goes)."""
        client = self.client()
        done = docker("exec", client.id, "sh", "-c", 'rm -rf "$1" && mkdir -p "$1"', "sh",
                      directory, cli=client.cli)
        if done.returncode != 0:
            raise LoadGenError(f"cannot prepare {directory} in the client container: "
                               f"{last_line(done.stderr)}")


class PlacedWrk:
    """wrk in the client host's container: the same script, arguments and parsing as
    loadgen.Wrk. Writes: the ids of the acknowledged inserts are written in the container
    (report.lua) and copied out after the execution, where the runner counts them."""

    def __init__(self, placement: Placement, timeout_s: int):
        self.placement = placement
        self.timeout_s = timeout_s
        self.execute = ClientExec(placement, "wrk")

    @property
    def threads(self) -> int:
        """A thread per CPU of the client host (known once the runtime is open)."""
        return self.placement.cpus_of("client")

    def args(self, url: str, connections: int, duration_s: int) -> list[str]:
        # wrk's command line as on one machine, with the script where the client has it.
        wrk = Wrk("wrk", threads=self.threads, timeout_s=self.timeout_s)
        return wrk.args(url, connections, duration_s, script=f"{CLIENT_DIR}/{SCRIPT.name}")

    def run(self, url: str, connections: int, duration_s: int, raw_path: Path,
            relative_to: Path, watch=None, expect_body: Path | None = None,
            write_ids: Path | None = None, write_run: str = "", read_spread=None) -> Sample:
        body = self.placement.client_path(expect_body) if expect_body else ""
        ids = f"{CLIENT_IDS}/{write_ids.name}" if write_ids is not None else ""
        if write_ids is not None:
            self.execute.clear(CLIENT_IDS)
        args = self.args(url, connections, duration_s)
        done = self.execute(
            ["wrk", *args], {"BATTLE_CONNECTIONS": str(connections), "BATTLE_EXPECT_BODY": body,
                             "BATTLE_WRITE_IDS": ids, "BATTLE_WRITE_RUN": write_run},
            limit_s=duration_s + self.timeout_s + 30, watch=watch, read_spread=read_spread,
            spread_at_s=duration_s / 2)
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        raw_path.write_text(done.output)
        if done.returncode != 0:
            raise LoadGenError(f"wrk on the client host exited with {done.returncode}: "
                               f"{last_line(done.output)}")
        if write_ids is not None:
            # Each wrk thread's file (<ids>.<thread>), into the directory where the runner
            # counts them (the container's directory holds this execution's alone).
            self.execute.fetch(f"{CLIENT_IDS}/.", write_ids.parent)
        sample = parse_output(done.output, args, str(raw_path.relative_to(relative_to)))
        sample.resources, sample.spread = done.usage, done.spread
        return sample

    def describe(self) -> dict:
        try:
            done = command.run(["docker", "run", "--rm", "--network", "none", "--entrypoint",
                                "wrk", self.placement.loadgen_image(), "-v"], timeout=60)
            version = (done.stdout or done.stderr).splitlines()[0].strip()
        except (CommandError, IndexError):
            version = ""
        client = self.placement.hosts["client"]
        return {**wrk_description(version, self.threads, self.timeout_s),
                "where": f"a container on the client engine ({client.engine}, host network, "
                         f"{client.address}), image {self.placement.loadgen_image()}"}


class PlacedOha:
    """oha in the client host's container (the controller's binary, copied in once: it needs
    only the C library), for open-loop cells and cross-checks: the same arguments and parsing
    as loadgen.Oha; its JSON summary and per-request records are copied out after each
    execution."""

    def __init__(self, placement: Placement, timeout_s: int):
        self.placement = placement
        self.timeout_s = timeout_s
        self.binary = find_oha()          # missing here: one line, before anything starts
        self.execute = ClientExec(placement, "oha")

    @property
    def threads(self) -> int:
        return self.placement.cpus_of("client")

    def run(self, url: str, connections: int, duration_s: int, raw_path: Path,
            relative_to: Path, watch=None, expect_body: Path | None = None,
            rate: float | None = None, read_spread=None) -> Sample:
        program = self.placement.client_program(Path(self.binary))
        raw_path = raw_path.with_suffix(".json")
        inside = f"{CLIENT_OUT}/{raw_path.name}"
        self.execute.clear(CLIENT_OUT)
        oha = Oha(program, threads=self.threads, timeout_s=self.timeout_s)
        args = oha.args(url, connections, duration_s, Path(inside),
                        Path(inside).with_suffix(".sqlite"), rate)
        done = self.execute([program, *args], {}, limit_s=duration_s + self.timeout_s + 60,
                            watch=watch, read_spread=read_spread, spread_at_s=duration_s / 2)
        if done.returncode != 0:
            raise LoadGenError(f"oha on the client host exited with {done.returncode}: "
                               f"{last_line(done.output)}")
        db_path = raw_path.with_suffix(".sqlite")
        try:
            self.execute.fetch(inside, raw_path)
            try:
                self.execute.fetch(str(Path(inside).with_suffix(".sqlite")), db_path)
            except LoadGenError:
                pass            # oha writes no records when nothing was answered
            report = json.loads(raw_path.read_text())
            rows = oha_rows(db_path)
        except (OSError, ValueError, sqlite3.Error) as exc:
            raise LoadGenError(f"oha left no readable result: {exc}") from None
        finally:
            db_path.unlink(missing_ok=True)   # one row per response: the summary keeps it
        sample = oha.sample(report, rows, connections=connections, duration_s=duration_s,
                            args=args, raw_output=str(raw_path.relative_to(relative_to)),
                            expect_body=expect_body, rate=rate)
        sample.resources, sample.spread = done.usage, done.spread
        return sample

    def describe(self) -> dict:
        client = self.placement.hosts["client"]
        return {**Oha(self.binary, threads=self.threads, timeout_s=self.timeout_s).describe(),
                "where": f"a container on the client engine ({client.engine}, host network, "
                         f"{client.address}), the controller's binary copied in"}
