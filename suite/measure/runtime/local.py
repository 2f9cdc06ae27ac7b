"""The local runtime: MongoDB and servers as child process groups on loopback (no Docker)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from suite import LOOPBACK, REPO_ROOT
from suite.measure import connections, environment, interpreters, toolchains
from suite.record.catalog import Variant, setting_env
from suite.measure.mongo import EmbeddedMongo
from suite.measure.nginx import find_nginx, nginx_version
from suite.measure.procs import Child
from suite.record.results import RuntimeDetails, Spread
from suite.measure.text import ended
from suite.measure.runtime import MongoEndpoint, ServerFailed, generator_here, role_cpus
from suite.measure.runtime.capabilities import LOCAL


class LocalServer:
    def __init__(self, child: Child, port: int):
        self.child = child
        self.host = LOOPBACK
        self.port = port

    def alive(self) -> bool:
        return self.child.alive()

    def watches(self) -> dict[str, int]:
        return {"server": self.child.pid}

    def exit_detail(self) -> str:
        code = self.child.returncode
        return ended("still running" if code is None else f"exited with code {code}",
                     self.child.log_tail(6))

    def listen_drops(self) -> int | None:
        return connections.listen_drops()

    def connection_spread(self, at_s: float) -> Spread | None:
        return connections.spread(connections.pids_of([self.child.pid]), self.port, at_s)

    def stop(self) -> None:
        self.child.stop(grace=10)


class LocalRuntime:
    """Pinning (`cpu_roles`) is CPU affinity, set in each child before exec. `python`: the
    default rows' interpreter (interpreters.server_python: the production build in .venv-srv
    when there is one)."""

    name = "local"
    capabilities = LOCAL

    def __init__(self, python: str | None = None,
                 cpu_roles: dict[str, list[int]] | None = None):
        self.python = python or interpreters.server_python(sys.executable)
        self.cpu_roles = dict(cpu_roles or {})

    def server_cpus(self) -> int:
        return len(role_cpus(self.cpu_roles, "server"))

    def loadgen_cpus(self) -> int:
        return len(role_cpus(self.cpu_roles, "loadgen"))

    def generator(self, name: str, timeout_s: int):
        return generator_here(self, name, timeout_s)

    @contextmanager
    def open(self, artifacts: Path, owns_db: bool = True) -> Iterator[RuntimeDetails]:
        free_threaded = interpreters.free_threaded_python()
        yield RuntimeDetails(name=self.name, python=self.python,
                             free_threaded_python=free_threaded,
                             free_threaded_version=(interpreters.describe(free_threaded)
                                                    if free_threaded else None),
                             capabilities=self.capabilities.to_dict())

    def prepare(self, variant: Variant, log_path: Path) -> None:
        # Servers run from their interpreter's environment (or a reference row's toolchain)
        # as they are; it must exist.
        self._python(variant)
        return None

    def _python(self, variant: Variant) -> str:
        """The interpreter, or a reference row's program ("{python}" and "{program}")."""
        if not variant.python:
            return self._toolchain(variant).program
        try:
            return interpreters.python_for(variant, self.python)
        except interpreters.InterpreterMissing as exc:
            raise ServerFailed(str(exc)) from None

    @staticmethod
    def _toolchain(variant: Variant) -> toolchains.Toolchain:
        try:
            return toolchains.toolchain(variant)
        except toolchains.ToolchainMissing as exc:
            raise ServerFailed(str(exc)) from None

    def _placeholders(self, variant: Variant) -> dict[str, str]:
        """A toolchain's own placeholders ("{classpath}", "{node_modules}"); "{program}" is
        the catalog's, the same as "{python}"."""
        return {} if variant.python else self._toolchain(variant).placeholders

    @contextmanager
    def mongo(self, log_path: Path, test_commands: bool = False) -> Iterator[MongoEndpoint]:
        with EmbeddedMongo(log_path, cpus=self.cpu_roles.get("db"),
                           test_commands=test_commands) as mongod:
            yield MongoEndpoint(url=mongod.url, embedded=True, binary=str(mongod.binary),
                                watch=mongod.pid, alive=mongod.alive,
                                exit_detail=mongod.exit_detail)

    def command(self, variant: Variant, settings: dict[str, Any], port: int) -> list[str]:
        return variant.argv(settings, python=self._python(variant), host=LOOPBACK, port=port,
                            extra=self._placeholders(variant))

    def start_server(self, variant: Variant, settings: dict[str, Any], *, mongo_url: str,
                     database: str, port: int, log_path: Path, instance: int = 0) -> LocalServer:
        argv = self.command(variant, settings, port)
        # PYTHON_GIL is the catalog's alone: set for a GIL twin, never inherited.
        inherited = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
        env = {**inherited, **setting_env(settings),
               **variant.environment(settings, python=self._python(variant), host=LOOPBACK,
                                     port=port, extra=self._placeholders(variant)),
               "BATTLE_MONGO_URL": mongo_url, "BATTLE_MONGO_DB": database,
               # Servers import `servers.<app>` from the repository, installed or not.
               "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        try:
            child = Child(argv, log_path=log_path, env=env, cwd=REPO_ROOT,
                          cpus=self.cpu_roles.get("server"))
        except OSError as exc:
            raise ServerFailed(f"cannot start {argv[0]}: {exc.strerror}") from None
        return LocalServer(child, port)

    def start_balancer(self, config, directory: Path, log_path: Path
                       ) -> tuple[LocalServer, str, str, str | None]:
        text = config.render(directory)
        (directory / "nginx.conf").write_text(text)
        binary = find_nginx()
        argv = [binary, "-p", str(directory), "-c", str(directory / "nginx.conf"),
                "-e", str(directory / "error.log")]
        try:
            child = Child(argv, log_path=log_path, cpus=self.cpu_roles.get("server"))
        except OSError as exc:
            raise ServerFailed(f"cannot start nginx: {exc.strerror}") from None
        return LocalServer(child, config.listen_port), text, nginx_version(binary), None

    def package_versions(self, variant: Variant) -> dict[str, str]:
        if not variant.python:   # node, the JVM and their drivers; the crates
            return dict(self._toolchain(variant).versions)
        python = self._python(variant)
        if python != sys.executable:   # another interpreter's environment: asked of it
            return interpreters.package_versions(python, variant.packages)
        # Servers run in the suite's own environment, so its metadata is theirs.
        return environment.package_versions(variant.packages)

    def interpreter_build(self, variant: Variant) -> dict[str, Any] | None:
        if not variant.python:
            return dict(self._toolchain(variant).build)
        return interpreters.build_of(self._python(variant))
