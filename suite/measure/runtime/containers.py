"""Containers on a Docker engine, through the docker CLI, as this process owns them: the CLI
called with a time limit (and given up in cleanup paths), containers found and removed by
label, the ones a killed suite process left behind swept, and one running container's state,
logs and removal. Every container the suite starts carries the label
battle.owner=<host>:<pid> of the process that started it (owner_label). `cli` aims a call at
another engine ("docker", "--host", URL: suite.measure.placement); this machine's by default.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from suite.measure import command
from suite.measure.command import CommandError
from suite.measure.procs import signals_deferred
from suite.measure.resources import Cgroup, CgroupError
from suite.measure.runtime import RuntimeUnavailable, ServerFailed
from suite.measure.text import ended

STOP_GRACE_S = 10


def docker(*args: str, timeout: float = 120, env: dict[str, str] | None = None,
           cli: tuple[str, ...] = ("docker",)) -> subprocess.CompletedProcess:
    """The docker CLI (suite.measure.command.run); `cli` aims it at another engine ("docker",
    "--host", URL: suite.measure.placement). Not installed: RuntimeUnavailable; no answer within
    `timeout`: ServerFailed, naming the call and the limit."""
    try:
        return command.run([*cli, *args], timeout=timeout, env=env,
                           what=" ".join(["docker", *cli[1:], *args[:1]]))
    except CommandError as exc:
        if exc.missing:
            raise RuntimeUnavailable("docker not found: install Docker Engine, or use "
                                     "--runtime local") from None
        raise ServerFailed(str(exc)) from None


def _cleanup(*args: str, timeout: float = 120,
             cli: tuple[str, ...] = ("docker",)) -> subprocess.CompletedProcess | None:
    """docker in cleanup paths, which run whatever happened before: a hung daemon must neither
    hang nor crash them, so a call without an answer is given up (None). Containers left so are
    swept by the next run (sweep_orphans)."""
    try:
        return docker(*args, timeout=timeout, cli=cli)
    except (RuntimeUnavailable, ServerFailed):
        return None


def owner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _ps_args(labels: tuple[str, ...]) -> list[str]:
    return ["ps", "-aq", "--no-trunc",
            *[arg for label in labels for arg in ("--filter", f"label={label}")]]


def find_containers(*labels: str, cli: tuple[str, ...] = ("docker",)) -> list[str]:
    """Ids of every container, running or not, carrying all the labels ("key=value")."""
    return docker(*_ps_args(labels), cli=cli).stdout.split()


def remove_containers(*labels: str, cli: tuple[str, ...] = ("docker",)) -> list[str]:
    """Force-remove (with anonymous volumes) every container carrying the labels (cleanup: a
    hung daemon removes nothing, and raises nothing)."""
    with signals_deferred():
        listed = _cleanup(*_ps_args(labels), cli=cli)
        ids = listed.stdout.split() if listed is not None else []
        if ids:
            _cleanup("rm", "-fv", *ids, timeout=60, cli=cli)
    return ids


def sweep_orphans(cli: tuple[str, ...] = ("docker",)) -> list[str]:
    """Remove containers left by a suite process on this host that no longer exists."""
    listed = docker("ps", "-a", "--filter", "label=battle.owner",
                    "--format", '{{.ID}} {{.Label "battle.owner"}}', cli=cli)
    host = socket.gethostname()
    orphans = []
    for line in listed.stdout.splitlines():
        cid, _, owner = line.partition(" ")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host == host and pid.isdigit() and not _pid_alive(int(pid)):
            orphans.append(cid)
    if orphans:
        docker("rm", "-fv", *orphans, timeout=60, cli=cli)
    return orphans


class Container:
    """One running container, by id: the state and logs docker keeps about it."""

    def __init__(self, cid: str, log_path: Path | None, cli: tuple[str, ...] = ("docker",)):
        self.id = cid
        self.log_path = log_path
        self.cli = cli      # the engine it runs on

    def state(self) -> dict[str, Any]:
        done = docker("inspect", "--format", "{{json .State}}", self.id, cli=self.cli)
        return json.loads(done.stdout) if done.returncode == 0 else {}

    def alive(self) -> bool:
        return bool(self.state().get("Running"))

    def cgroup(self) -> Cgroup | None:
        pid = self.state().get("Pid")
        try:
            return Cgroup.of_pid(pid) if pid else None
        except CgroupError:
            return None

    def logs(self, tail: int | None = None) -> str:
        done = docker("logs", *(["--tail", str(tail)] if tail else []), self.id, cli=self.cli)
        return done.stdout + done.stderr

    def exit_detail(self) -> str:
        state = self.state()
        if not state:
            status = "container gone"
        elif state.get("Running"):
            status = "still running"
        else:
            status = (f"container exited with code {state.get('ExitCode')}"
                      + (" (killed: out of memory)" if state.get("OOMKilled") else ""))
        return ended(status, self.logs(6))

    def image(self) -> str:
        return docker("inspect", "--format", "{{.Image}}", self.id, cli=self.cli).stdout.strip()

    def remove(self) -> None:
        """Keep its logs, stop it (SIGTERM, then SIGKILL after the grace), remove it; a Ctrl-C
        meanwhile waits until it is gone."""
        with signals_deferred():
            logs = _cleanup("logs", self.id, cli=self.cli)
            if self.log_path is not None and logs is not None:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.log_path, "a") as handle:
                    handle.write(logs.stdout + logs.stderr)
            _cleanup("stop", "--time", str(STOP_GRACE_S), self.id, timeout=STOP_GRACE_S + 60,
                     cli=self.cli)
            _cleanup("rm", "-fv", self.id, timeout=60, cli=self.cli)
