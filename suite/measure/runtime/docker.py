"""The docker runtime: MongoDB and each variant in its own container, one variant at a time (a
deployment: its instances, each in a Compose project of its own, and nginx as the `balancer`
service), from compose/ (Compose v2 `docker compose` or v1 `docker-compose`, whichever is
there).

Every container is on the host network (wrk -> 127.0.0.1, no NAT in the measured path), has the
role's cpuset and memory limit, and carries the label battle.owner=<host>:<pid> of the suite
process that started it. The runtime removes its containers when a server stops, when the run
ends however it ends, and, at the next start, any container whose owner process is gone (the
suite killed outright): suite.measure.runtime.containers. Images come from suite.measure.images
(registry or offline set).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite import LOOPBACK, REPO_ROOT
from suite.measure import command, composefile, connections, engine_readers
from suite.measure.command import CommandError
from suite.measure.composefile import BALANCER_MOUNT, CATALOG_MOUNT
from suite.measure.engine_readers import EngineCgroup
from suite.measure.images import (BASE_IMAGE, CPYTHON_IMAGE, WHEELHOUSE, ImageError, base_key,
                                  cpython_key, image_id, image_label, image_settings)
from suite.measure.mongo import MongoError, free_port, ping
from suite.measure.resources import Cgroup
from suite.measure.runtime import (MongoEndpoint, RuntimeUnavailable, ServerFailed,
                                   generator_here, role_cpus)
from suite.measure.runtime.capabilities import DOCKER, PLACED
from suite.measure.runtime.containers import (Container, docker, find_containers, owner_label,
                                              remove_containers, sweep_orphans)
from suite.measure.text import last_line
from suite.record.catalog import DEFAULT_CATALOG, Variant, load_catalog
from suite.record.results import DbContainer, Image, RuntimeDetails, Spread

IMAGE_PYTHON = "/opt/venv/bin/python"   # the venv every server image installs into
COMPOSE_DIR = REPO_ROOT / "compose"


def detect_compose() -> tuple[list[str], str]:
    """The Compose command here and its version: the v2 plugin first, then v1's docker-compose."""
    for argv in (["docker", "compose"], ["docker-compose"]):
        try:
            done = command.run([*argv, "version", "--short"], timeout=30)
        except CommandError:
            continue
        if done.returncode == 0 and done.stdout.strip():
            return argv, done.stdout.strip().lstrip("v")
    raise RuntimeUnavailable("neither `docker compose` (v2) nor `docker-compose` (v1) works here: "
                             "install one of them")


def compose_failure(stderr: str) -> str:
    """The line of Compose's output that says why `up` failed. Compose 1.x ends with "ERROR:
    Encountered errors while bringing up the project." after the cause ("ERROR: for balancer
    Cannot start service ..."): the last error line that is not that summary."""
    errors = [line.strip() for line in stderr.splitlines()
              if "error" in line.lower() and not line.rstrip().endswith("... error")
              and "Encountered errors while bringing up" not in line]
    return errors[-1] if errors else last_line(stderr)


# (owner label, engine CLI) of every runtime this process opened.
_owners_opened: set[tuple[str, tuple[str, ...]]] = set()


def remove_owned() -> None:
    """Remove every container this process started, on every engine it used (the CLI's last
    word, whatever happened)."""
    for owner, cli in list(_owners_opened):
        remove_containers(f"battle.owner={owner}", cli=cli)
        _owners_opened.discard((owner, cli))


@dataclass(frozen=True)
class Engine:
    """The Docker engine a role's containers run on, and the address they are reached at (all
    on their host's network). This machine's own engine by default; a placed run
    (`battle run --hosts`, suite.measure.runtime.placed) has one per role."""

    cli: tuple[str, ...] = ("docker",)     # the docker CLI aimed at it
    address: str = LOOPBACK
    endpoint: str | None = None           # DOCKER_HOST URL or context name; None: the default

    @property
    def remote(self) -> bool:
        """Whether it is another engine than this machine's: it cannot see this machine's files
        (what it runs gets them copied in) nor share its cgroups and /proc."""
        return self.endpoint is not None


HERE = Engine()
ENGINE_ROLES = ("client", "server", "db")


class DockerServer:
    """A server's container (a variant's instance, or a deployment's nginx), reached at its
    engine's address. On another engine its cgroup and its network namespace's counters are
    read through that engine (`cgroup_version`: the engine's)."""

    def __init__(self, container: Container, port: int, engine: Engine = HERE,
                 cgroup_version: int | None = None):
        self.container = container
        self.engine = engine
        self.host = engine.address
        self.port = port
        self._cgroup: Cgroup | EngineCgroup | None = (
            EngineCgroup(container.cli, container.id, cgroup_version) if engine.remote else None)

    def alive(self) -> bool:
        return self.container.alive()

    def watches(self) -> dict[str, Cgroup | EngineCgroup | None]:
        if self._cgroup is None:
            self._cgroup = self.container.cgroup()
        return {"server": self._cgroup}

    def exit_detail(self) -> str:
        return self.container.exit_detail()

    def listen_drops(self) -> int | None:
        if not self.engine.remote:
            return connections.listen_drops()   # the host network: this machine's namespace
        # The server host's namespace, which the container shares, read through its engine.
        return engine_readers.listen_drops(self.container.cli, self.container.id)

    def connection_spread(self, at_s: float) -> Spread | None:
        if self.engine.remote:
            return None     # not read through another engine yet (capabilities.PLACED)
        return connections.spread(connections.pids_of(self.watches().values()), self.port, at_s)

    def stop(self) -> None:
        self.container.remove()


class DockerRuntime:
    """Pinning (`cpu_roles`) is each container's cpuset; `memory` its memory limit per role.

    `placement` (suite.measure.runtime.placed.Placement): the roles on engines of their own,
    TechEmpower's shape (a client per role); without it every role is on this machine's
    engine. The placement brings what separate machines add (their engines reached and
    described, the links measured, images shipped, the load generator in a container on the
    client's engine); this runtime runs each role's containers on that role's engine."""

    name = "docker"
    capabilities = DOCKER      # with a placement: PLACED (set per instance)

    def __init__(self, cpu_roles: dict[str, list[int]] | None = None,
                 memory: dict[str, str] | None = None, images: str | None = None,
                 catalog_path: Path = DEFAULT_CATALOG, placement=None):
        self.placement = placement
        self.engines: dict[str, Engine] = (placement.engines() if placement is not None
                                           else dict.fromkeys(ENGINE_ROLES, HERE))
        self.capabilities = PLACED if placement is not None else DOCKER
        self.cpu_roles = dict(cpu_roles or {})
        self.memory = {"server": composefile.DEFAULTS["BATTLE_SERVER_MEMORY"],
                       "db": composefile.DEFAULTS["BATTLE_DB_MEMORY"], **(memory or {})}
        try:
            self.images, self.images_source = image_settings(images)
        except ImageError as exc:
            raise RuntimeUnavailable(str(exc)) from None
        self.catalog_path = Path(catalog_path).resolve()
        self.owner = owner_label()
        self.compose: list[str] = []
        self.project = ""
        self.compose_file: Path | None = None
        self._versions: dict[str, dict[str, Any]] = {}
        self._image_ids: dict[str, str] = {}

    # -- what the runner asks -------------------------------------------------------------------

    def server_cpus(self) -> int:
        if self.placement is not None:
            return self.placement.cpus_of("server")
        return len(role_cpus(self.cpu_roles, "server"))

    def loadgen_cpus(self) -> int:
        if self.placement is not None:
            return self.placement.cpus_of("client")
        return len(role_cpus(self.cpu_roles, "loadgen"))

    def generator(self, name: str, timeout_s: int):
        """wrk or oha: a child of this process, or placed, in a container on the client's
        engine."""
        if self.placement is not None:
            return self.placement.generator(name, timeout_s)
        return generator_here(self, name, timeout_s)

    def _cpuset(self, role: str) -> str:
        """The role's CPUs as a cpuset, explicit even when not pinned: the CPUs this process may
        use, which the settings (workers = f(cpus)) were resolved for. Placed: none, every CPU
        of the role's own host."""
        if self.placement is not None:
            return ""
        return ",".join(str(cpu) for cpu in role_cpus(self.cpu_roles, role))

    def command(self, variant: Variant, settings: dict[str, Any], port: int) -> list[str]:
        """The command inside the container (the launcher checks it resolves the same)."""
        return variant.argv(settings, python=IMAGE_PYTHON, host=self.engines["server"].address,
                            port=port)

    def image(self, variant: Variant) -> str:
        return f"battle/{variant.service}:{self.images['BATTLE_IMAGES']}"

    def environment(self, **service_variables: str) -> dict[str, str]:
        """What the compose file's ${BATTLE_...} variables are for this run, with one service's
        own (its port, its settings) last."""
        return {**os.environ, **self.images,
                "BATTLE_HOST": self.engines["server"].address,
                "BATTLE_SERVER_CPUSET": self._cpuset("server"),
                "BATTLE_DB_CPUSET": self._cpuset("db"),
                "BATTLE_SERVER_MEMORY": self.memory["server"],
                "BATTLE_DB_MEMORY": self.memory["db"],
                "BATTLE_CATALOG_FILE": str(self.catalog_path),
                "BATTLE_OWNER": self.owner, **service_variables}

    def _compose(self, service: str, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 180, project: str | None = None) -> subprocess.CompletedProcess:
        """Compose on this run's project (or another of its own: a deployment's instances are
        a project each, since one project runs one container per service), with `service`'s
        profile enabled; ServerFailed when it gives no answer within `timeout`."""
        argv = [*self.compose, "--project-name", project or self.project, "--project-directory",
                str(COMPOSE_DIR), "--file", str(self.compose_file), "--profile", service, *args]
        try:
            return command.run(argv, timeout=timeout, env=env or self.environment(),
                               what=f"{' '.join(self.compose)} {args[0]}")
        except CommandError as exc:
            raise ServerFailed(str(exc)) from None

    @contextmanager
    def open(self, artifacts: Path, owns_db: bool = True) -> Iterator[RuntimeDetails]:
        """The controller's engine checked (it builds the images), then, placed, each role's
        engine reached (suite.measure.runtime.placed.Placement.open); nothing is left running
        on any engine on exit."""
        if self.placement is not None:
            self.placement.reach()
        try:
            engine = docker("version", "--format", "{{.Server.Version}}", timeout=30)
            if engine.returncode != 0:
                raise RuntimeUnavailable("cannot reach the Docker daemon: "
                                         f"{last_line(engine.stderr)}")
            self.compose, compose_version = detect_compose()
            # The legacy builder leaves a failed step's container behind unless told not to.
            helped = command.run([*self.compose, "build", "--help"], timeout=30,
                                 what=f"{' '.join(self.compose)} build --help").stdout
            self.build_flags = ["--force-rm"] if "--force-rm" in helped else []
            offline = self.images["BATTLE_IMAGES"] == "offline"
            needed = {self.images["BATTLE_SERVER_BASE"], self.images["BATTLE_BUILD_BASE"]}
            if owns_db:
                needed.add(self.images["BATTLE_MONGO_IMAGE"])
            for base in sorted(needed):
                if offline and image_id(base) is None:
                    raise RuntimeUnavailable(f"offline base image {base} is missing: run `make "
                                             "images-offline` (battle images --offline) first")
            if offline and image_label(BASE_IMAGE, "battle.key") != base_key():
                # e.g. built before nginx-light joined it: servers would build, nginx not run.
                raise RuntimeUnavailable(f"offline base image {BASE_IMAGE} was built from other "
                                         "packages than this suite's: run `make images-offline`")
            swept = sweep_orphans()
        except (ServerFailed, CommandError, ImageError) as exc:   # no answer in time
            raise RuntimeUnavailable(f"cannot reach the Docker daemon: {exc}") from None
        if offline and self.images["BATTLE_SERVER_BASE"] == CPYTHON_IMAGE:
            # The local servers' interpreter rebuilt: the images must run the same one.
            try:
                current = image_label(CPYTHON_IMAGE, "battle.key") == cpython_key()
            except ImageError as exc:
                raise RuntimeUnavailable(str(exc)) from None
            if not current:
                raise RuntimeUnavailable(f"{CPYTHON_IMAGE} holds another CPython build than the "
                                         "local servers': run `make images-offline`")
        # Unique per process: two runs (or two `battle serve`) never share containers.
        self.project = f"battle{re.sub(r'[^a-z0-9]', '', artifacts.name.lower())}{os.getpid()}"
        artifacts.mkdir(parents=True, exist_ok=True)
        self.compose_file = artifacts / "docker-compose.yml"
        # Another engine cannot see this machine's files: no bind mounts, copies instead.
        self.compose_file.write_text(composefile.render(load_catalog(self.catalog_path),
                                                        mounts=self.placement is None))
        # The database's limits are recorded with its container (mongo.container), when the
        # runtime starts one.
        details = RuntimeDetails(
            name=self.name, engine=engine.stdout.strip(),
            compose={"command": self.compose, "version": compose_version,
                     "file": f"{artifacts.name}/{self.compose_file.name}",  # beside results
                     "project": self.project},
            images=self.images["BATTLE_IMAGES"], images_source=self.images_source,
            bases={"server": self.images["BATTLE_SERVER_BASE"],
                   "build": self.images["BATTLE_BUILD_BASE"]},
            limits={"server": {"cpuset": self._cpuset("server"),
                               "memory": self.memory["server"]}},
            network="host", orphans_removed=swept,
            capabilities=self.capabilities.to_dict())
        engines = {engine.cli for engine in (HERE, *self.engines.values())}
        for cli in engines:
            _owners_opened.add((self.owner, cli))
        try:
            if self.placement is None:
                yield details
            else:
                with self.placement.open(self, details) as placed_details:
                    yield placed_details
        finally:
            for cli in engines:
                remove_containers(f"battle.owner={self.owner}", cli=cli)

    def prepare(self, variant: Variant, log_path: Path) -> Image:
        """Build the variant's image (cached layers make a rebuild seconds); record it."""
        if variant.host_only:
            raise ServerFailed(f"{variant.name} runs in the local runtime only: "
                               f"{variant.host_only_why}")
        image = self.image(variant)
        started = time.monotonic()
        WHEELHOUSE.mkdir(parents=True, exist_ok=True)   # the Dockerfile copies it, even empty
        done = self._compose(variant.service, "build", *self.build_flags, variant.service,
                             timeout=1800)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            output = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines()
                      if line.strip()]
            causes = [line for line in output if "error" in line.lower()] or output
            hint = ("; without a registry, build the offline images (make images-offline)"
                    if self.images["BATTLE_IMAGES"] == "registry" else "")
            raise ServerFailed(f"image {image} failed to build: "
                               f"{causes[-1] if causes else 'no output'} "
                               f"(build log: {log_path}){hint}")
        versions = self._image_versions(variant, image)
        try:
            self._image_ids[variant.service] = image_id(image) or ""
            base_id = image_id(self.images["BATTLE_SERVER_BASE"])
        except ImageError as exc:
            raise ServerFailed(str(exc)) from None
        if self.placement is not None:      # built here, run on the server's engine
            self.placement.ship(image, self._image_ids[variant.service], "server")
        return Image(name=image, id=self._image_ids[variant.service],
                     base=self.images["BATTLE_SERVER_BASE"], base_id=base_id,
                     build_base=self.images["BATTLE_BUILD_BASE"],
                     offline=self.images["BATTLE_PIP_OFFLINE"] == "1",
                     python=versions["python"], nofile=versions["nofile"],
                     build_s=round(time.monotonic() - started, 1))

    def _image_versions(self, variant: Variant, image: str) -> dict[str, Any]:
        if variant.service not in self._versions:
            # The image's own entrypoint (suite.launch) in its --versions mode.
            done = docker("run", "--rm", "--network", "none", image, "--versions",
                          *variant.packages, timeout=120)
            try:
                self._versions[variant.service] = json.loads(done.stdout)
            except json.JSONDecodeError:
                raise ServerFailed(f"cannot read package versions from {image}: "
                                   f"{last_line(done.stderr)}") from None
        return self._versions[variant.service]

    def start_balancer(self, config, directory: Path, log_path: Path
                       ) -> tuple[DockerServer, str, str, str | None]:
        """nginx as the compose `balancer` service, its configuration in `directory` mounted
        where the configuration says its files are; its version read inside the container."""
        text = config.render(Path(BALANCER_MOUNT))
        (directory / "nginx.conf").write_text(text)
        try:
            container = self._container("balancer", self.environment(
                BATTLE_BALANCER_DIR=str(directory),
                BATTLE_BALANCER_NOFILE=str(config.open_files)), log_path)
        except ServerFailed as exc:   # e.g. a daemon whose containers get fewer open files
            raise ServerFailed(f"nginx ({config.open_files} open files for "
                               f"{config.max_connections} connections): {exc}") from None
        try:
            asked = docker("exec", container.id, "nginx", "-v", timeout=30, cli=container.cli)
            if asked.returncode != 0:
                raise ServerFailed(f"nginx in the balancer container: {container.exit_detail()}")
        except BaseException:
            container.remove()
            raise
        version = last_line(asked.stderr or asked.stdout).removeprefix("nginx version: nginx/")
        image = f"{self.images['BATTLE_BALANCER_IMAGE']} ({container.image()[:19]})"
        return self._server(container, config.listen_port), text, version, image

    def _server(self, container: Container, port: int) -> DockerServer:
        """A running container as the Server the rest of the suite talks to."""
        engine = self.engines["server"]
        return DockerServer(container, port, engine, self.placement.cgroup_version("server")
                            if self.placement is not None else None)

    def package_versions(self, variant: Variant) -> dict[str, str]:
        return self._image_versions(variant, self.image(variant))["packages"]

    def interpreter_build(self, variant: Variant) -> dict[str, Any] | None:
        """The image's interpreter as it describes its build (None: an image made before the
        launcher reported it)."""
        return self._image_versions(variant, self.image(variant)).get("build")

    def _container(self, service: str, env: dict[str, str], log_path: Path,
                   project: str | None = None) -> Container:
        """Start one service (never building, never its dependencies) on its role's engine and
        return it, found by Compose's labels (v1 and v2 set them; `compose ps` differs between
        versions). On another engine it is created, what it would get mounted is copied in (a
        deployment's nginx configuration into the balancer, the catalog into a server), then
        started."""
        role = "db" if service == "mongo" else "server"
        engine = self.engines[role]
        labels = (f"com.docker.compose.project={project or self.project}",
                  f"com.docker.compose.service={service}")
        if engine.remote and service == "balancer":        # nginx's image, on that engine
            image = self.images["BATTLE_BALANCER_IMAGE"]
            try:
                self.placement.ship(image, image_id(image) or "", role)
            except ImageError as exc:
                raise ServerFailed(f"nginx's image {image}: {exc}") from None
        try:
            if not engine.remote:
                done = self._compose(service, "up", "--detach", "--no-build", "--no-deps",
                                     service, env=env, project=project)
                ids = find_containers(*labels)
                if done.returncode != 0 or len(ids) != 1:
                    raise ServerFailed(f"container {service} did not start: "
                                       f"{compose_failure(done.stderr)}")
                return Container(ids[0], log_path)
            # `create`, not `up --no-start`: Compose v1's `up` attaches to the container it
            # creates, and over another engine that attach outlives it (a dial-stdio left
            # waiting on the far host); `create` leaves nothing. (v2 has `create` as well.)
            done = self._compose(service, "create", "--no-build", service,
                                 env=self.placement.compose_env(role, env), project=project)
            ids = find_containers(*labels, cli=engine.cli)
            if done.returncode != 0 or len(ids) != 1:
                raise ServerFailed(f"container {service} was not created on the {role} engine: "
                                   f"{compose_failure(done.stderr)}")
            if role == "server":
                source, target = ((f"{env['BATTLE_BALANCER_DIR']}/.", BALANCER_MOUNT)
                                  if service == "balancer"
                                  else (str(self.catalog_path), CATALOG_MOUNT))
                copied = docker("cp", source, f"{ids[0]}:{target}", cli=engine.cli)
                if copied.returncode != 0:
                    raise ServerFailed(f"cannot copy {Path(source.rstrip('/.')).name} into "
                                       f"{service}: {last_line(copied.stderr)}")
            started = docker("start", ids[0], cli=engine.cli)
            if started.returncode != 0:
                raise ServerFailed(f"container {service} did not start on the {role} engine: "
                                   f"{last_line(started.stderr)}")
            return Container(ids[0], log_path, engine.cli)
        except BaseException:
            # whatever half-started, on any failure or Ctrl-C
            remove_containers(*labels, cli=engine.cli)
            raise

    @contextmanager
    def mongo(self, log_path: Path, test_commands: bool = False) -> Iterator[MongoEndpoint]:
        """mongod's container on the db role's engine, bound to its address (this machine's
        loopback, or placed, the db host's), answering the controller there."""
        engine = self.engines["db"]
        port = free_port()   # free here; placed, mongod says so in one line if not there
        url = f"mongodb://{engine.address}:{port}"
        image = self.images["BATTLE_MONGO_IMAGE"]
        try:
            container = self._container(
                "mongo", self.environment(BATTLE_MONGO_PORT=str(port),
                                          BATTLE_MONGO_BIND=engine.address,
                                          BATTLE_MONGO_TEST_COMMANDS=str(int(test_commands))),
                log_path)
        except ServerFailed as exc:
            raise MongoError(f"{exc} (image {image}; offline: make images-offline)") from None
        try:
            deadline = time.monotonic() + 60
            while not ping(url, timeout_ms=1000):
                if not container.alive():
                    raise MongoError(f"mongo container on {url}: {container.exit_detail()}")
                if time.monotonic() > deadline:
                    raise MongoError(f"mongo container runs but {url} does not answer from here "
                                     "within 60 s" + (": is the db address right and reachable "
                                                      "from the controller?" if engine.remote
                                                      else f": {container.exit_detail()}"))
                time.sleep(0.2)
            watch = (EngineCgroup(container.cli, container.id,
                                  self.placement.cgroup_version("db"))
                     if engine.remote else container.cgroup())
            yield MongoEndpoint(
                url=url, embedded=True, binary=image, watch=watch,
                alive=container.alive, exit_detail=container.exit_detail,
                container=DbContainer(image=image, image_id=container.image(),
                                      cpuset=self._cpuset("db"), memory=self.memory["db"]))
        finally:
            container.remove()

    def start_server(self, variant: Variant, settings: dict[str, Any], *, mongo_url: str,
                     database: str, port: int, log_path: Path, instance: int = 0
                     ) -> DockerServer:
        env = self.environment(
            BATTLE_PORT=str(port), BATTLE_MONGO_URL=mongo_url, BATTLE_MONGO_DB=database,
            BATTLE_SETTINGS=json.dumps(settings),
            BATTLE_EXPECT_ARGV=json.dumps(self.command(variant, settings, port)))
        container = self._container(variant.service, env, log_path,
                                    project=f"{self.project}i{instance}" if instance else None)
        try:
            expected, running = self._image_ids.get(variant.service), container.image()
        except BaseException:
            container.remove()
            raise
        if expected and running != expected:
            container.remove()
            raise ServerFailed(f"the container runs image {running[:19]}, not {expected[:19]} "
                               "recorded for this run: the tag was rebuilt meanwhile")
        return self._server(container, port)
