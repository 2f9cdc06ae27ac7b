"""Runtimes: how MongoDB and a variant's server are started and stopped.

The rest of the suite talks to a runtime only through this interface, so the local and docker
runtimes are interchangeable. A `Server` is an owned handle: whoever starts it stops it.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any, Protocol

from suite.record.catalog import Variant
from suite.measure.loadgen import make_generator
from suite.measure.resources import Cgroup
from suite.measure.runtime.capabilities import Capabilities
from suite.record.results import DbContainer, Image, RuntimeDetails, Spread

# What resource sampling watches for a role: a process group id (local), a cgroup (docker; on
# another engine suite.measure.engine_readers.EngineCgroup), or several of them, summed (the
# instances of a deployment).
Watch = int | Cgroup | list[int | Cgroup] | None


class ServerFailed(Exception):
    """A server did not start, did not become ready, or died (or its image did not build)."""


class RuntimeUnavailable(Exception):
    """The runtime cannot work at all here (e.g. no Docker daemon): nothing can be measured."""


ROLES = ("loadgen", "server", "db")


def default_pinning(cpus: list[int], external_db: bool = False) -> dict[str, list[int]]:
    """The measuring default on one machine: the server on CPUs of its own (the upper half),
    the load generator and mongod on the others, so a figure is the server's and not server +
    client + database CPU per request. {} (unpinned) with fewer than two CPUs. With an external
    database (--mongo-url) only the load generator is pinned beside the server."""
    if len(cpus) < 2:
        return {}
    client, server = cpus[:len(cpus) // 2], cpus[len(cpus) // 2:]
    roles = {"server": server, "loadgen": client}
    if not external_db:
        roles["db"] = client
    return roles


def generator_here(runtime: "Runtime", name: str, timeout_s: int):
    """A load generator as a child of this process, pinned where the load generator's role is
    (the local and docker runtimes: the client runs on this machine)."""
    return make_generator(name, threads=runtime.loadgen_cpus(), timeout_s=timeout_s,
                          cpus=tuple(runtime.cpu_roles.get("loadgen", ())))


def role_cpus(cpu_roles: dict[str, list[int]], role: str) -> list[int]:
    """The CPUs a role runs on: those it is pinned to, else every CPU this process may use."""
    return cpu_roles.get(role) or sorted(os.sched_getaffinity(0))


@dataclass(frozen=True)
class MongoEndpoint:
    url: str
    embedded: bool
    binary: str | None = None
    watch: Watch = None                # for resource sampling; None when not ours
    container: DbContainer | None = None   # docker: the database's image and limits
    # Whether the database process the runtime started still runs, and how it ended (None:
    # not ours to watch, e.g. --mongo-url; the suite then only pings it).
    alive: Callable[[], bool] | None = None
    exit_detail: Callable[[], str] | None = None


class Server(Protocol):
    host: str
    port: int

    def alive(self) -> bool: ...

    def watches(self) -> dict[str, Watch]:
        """What holds the server and its workers, for resource sampling, by role: "server",
        and for a deployment also "balancer" and "instance-1", "instance-2", ..."""
        ...

    def exit_detail(self) -> str:
        """One line: how the server ended and its last log lines."""
        ...

    def listen_drops(self) -> int | None:
        """Connection attempts dropped so far at a full listen queue in the server's network
        namespace (suite.measure.connections); None where it cannot be read."""
        ...

    def connection_spread(self, at_s: float) -> Spread | None:
        """How the established connections to the server's port sit on its worker processes
        now (suite.measure.connections); None where no process of it listens there or it
        cannot be read. `at_s`: the moment within the execution, recorded with it."""
        ...

    def stop(self) -> None: ...


class Runtime(Protocol):
    name: str
    cpu_roles: dict[str, list[int]]    # role (ROLES) -> CPUs it is pinned to; empty: not pinned
    capabilities: Capabilities          # what it can do (suite.measure.runtime.capabilities)

    def server_cpus(self) -> int:
        """CPUs the server may use; catalog settings such as workers follow it."""
        ...

    def loadgen_cpus(self) -> int: ...

    def generator(self, name: str, timeout_s: int):
        """The load generator `name` (suite.measure.loadgen.GENERATORS) where this runtime's
        client runs, with a thread per CPU of the client's; LoadGenError when it cannot."""
        ...

    def open(self, artifacts: Path, owns_db: bool = True) -> AbstractContextManager[RuntimeDetails]:
        """The runtime's lifetime within a run: checks it can work (RuntimeUnavailable if not),
        yields what results record about it, and leaves nothing running on exit. `owns_db`:
        the runtime will start the database (False with --mongo-url)."""
        ...

    def prepare(self, variant: Variant, log_path: Path) -> Image | None:
        """Whatever must exist before the variant starts (an image); what to record about it.
        Raises ServerFailed when that variant cannot be prepared."""
        ...

    def mongo(self, log_path: Path,
              test_commands: bool = False) -> AbstractContextManager[MongoEndpoint]:
        """A MongoDB of the runtime's own, for the run; `test_commands`: with the fail point
        that adds database latency enabled (suite.measure.dblatency)."""
        ...

    def command(self, variant: Variant, settings: dict[str, Any], port: int) -> list[str]:
        """The exact argument list that starts the variant (recorded in results)."""
        ...

    def start_server(self, variant: Variant, settings: dict[str, Any], *, mongo_url: str,
                     database: str, port: int, log_path: Path, instance: int = 0) -> Server:
        """The variant on `port`; `instance` numbers the copies of a deployment (0: alone)."""
        ...

    def start_balancer(self, config, directory: Path, log_path: Path
                       ) -> tuple[Server, str, str, str | None]:
        """nginx with `config` (suite.measure.nginx.NginxConfig) rendered into `directory`: the
        running balancer, the configuration text as nginx reads it, nginx's version, and its
        image (docker: name and ID; None locally)."""
        ...

    def package_versions(self, variant: Variant) -> dict[str, str]: ...

    def interpreter_build(self, variant: Variant) -> dict[str, Any] | None:
        """How the interpreter that runs the variant's server was built (suite.launch.build);
        None: it could not be asked."""
        ...
