"""Runtimes: how MongoDB and a variant's server are started and stopped.

The rest of the suite talks to a runtime only through this interface, so the local and docker
runtimes are interchangeable. A `Server` is an owned handle: whoever starts it stops it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from suite.catalog import Variant


class ServerFailed(Exception):
    """A server did not start, did not become ready, or died."""


ROLES = ("loadgen", "server", "db")


@dataclass(frozen=True)
class MongoEndpoint:
    url: str
    embedded: bool
    binary: str | None = None
    process_group: int | None = None   # for resource sampling; None when not ours


class Server(Protocol):
    host: str
    port: int

    def alive(self) -> bool: ...

    def process_group(self) -> int | None:
        """The process group holding the server and its workers (for resource sampling)."""
        ...

    def exit_detail(self) -> str:
        """One line: how the server ended and its last log lines."""
        ...

    def stop(self) -> None: ...


class Runtime(Protocol):
    name: str
    cpu_roles: dict[str, list[int]]    # role (ROLES) -> CPUs it is pinned to; empty: not pinned

    def server_cpus(self) -> int:
        """CPUs the server may use; catalog settings such as workers follow it."""
        ...

    def loadgen_cpus(self) -> int: ...

    def mongo(self, log_path: Path) -> AbstractContextManager[MongoEndpoint]: ...

    def command(self, variant: Variant, settings: dict[str, Any], port: int) -> list[str]:
        """The exact argument list that starts the variant (recorded in results)."""
        ...

    def start_server(self, variant: Variant, settings: dict[str, Any], *, mongo_url: str,
                     database: str, port: int, log_path: Path) -> Server: ...

    def package_versions(self, variant: Variant) -> dict[str, str]: ...
