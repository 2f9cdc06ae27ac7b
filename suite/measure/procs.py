"""Child processes with an owner: each starts in its own process group and is stopped as a group.

Every child the suite starts goes through `Child`. A registry of live children lets the CLI stop
all of them on Ctrl-C, SIGTERM or an unexpected exit, and the kernel's parent-death signal covers
the case where the suite itself is killed outright.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
_live: set["Child"] = set()
_interrupted = False


def interrupt(signum: int, frame: object) -> None:
    """Signal handler for Ctrl-C, SIGTERM and SIGHUP: raise KeyboardInterrupt, and remember it.

    Python raises a handler's exception wherever the main thread happens to be, and inside a
    finalizer (an object's __del__ run by the garbage collector) it is printed and dropped. The
    flag makes the interrupt stick: measurement loops call check_interrupted() between steps, so
    a swallowed Ctrl-C still stops the run at the next one. Cleanup code never checks it."""
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def check_interrupted() -> None:
    if _interrupted:
        raise KeyboardInterrupt


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while cleanup that must finish runs (e.g. removing a
    container); a signal that arrives meanwhile is delivered, and raises, right after."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _child_setup(cpus: frozenset[int] | None) -> Callable[[], None]:
    def setup() -> None:
        # Runs in the child between fork and exec. If the suite dies, the group leader gets
        # SIGTERM and, being a server master, takes its workers down with it.
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
        if cpus:
            os.sched_setaffinity(0, cpus)  # inherited by everything the child forks
    return setup


def raise_nofile_limit() -> int:
    """Raise this process's open-files soft limit to its hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Child:
    """One process group started from an argument list, with its output in a file (or a pipe)."""

    def __init__(self, argv: list[str], *, log_path: Path | None = None,
                 env: dict[str, str] | None = None, cwd: Path | None = None,
                 cpus: Iterable[int] | None = None, stdio: int | None = None):
        """`stdio`: a descriptor (a connected socket) that is the child's stdin and stdout; its
        stderr then goes to the log, or nowhere."""
        self.argv = list(argv)
        self.log_path = log_path
        self._log: IO[bytes] | None = None
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(log_path, "ab")
        out = self._log if self._log is not None else subprocess.PIPE
        streams = (dict(stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
                   if stdio is None else
                   dict(stdin=stdio, stdout=stdio, stderr=self._log or subprocess.DEVNULL))
        try:
            self.process = subprocess.Popen(
                self.argv, **streams, env=env, cwd=cwd, start_new_session=True,
                preexec_fn=_child_setup(frozenset(cpus) if cpus else None),
            )
        except OSError:
            self._close_log()
            raise
        _live.add(self)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def communicate(self, timeout: float) -> str:
        """Wait for a piped child to finish and return its output (for short-lived tools).
        Raises subprocess.TimeoutExpired after `timeout` s, KeyboardInterrupt once interrupted."""
        deadline = time.monotonic() + timeout
        while True:
            check_interrupted()
            try:
                out, _ = self.process.communicate(
                    timeout=max(0.0, min(0.5, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    raise
        _live.discard(self)
        return (out or b"").decode(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as handle:
            tail = deque(handle, maxlen=lines)
        return b"".join(tail).decode(errors="replace").rstrip()

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the whole group, SIGKILL it after `grace` seconds; safe to call twice.

        The child stays registered until the sweep is done, so if a second Ctrl-C cuts this
        short, stop_all() still finds and kills it."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Workers may outlive a master that exited: the group is swept either way.
        self._signal_group(signal.SIGKILL)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        self._wait_group_gone(grace)
        _live.discard(self)
        self._close_log()
        return self.process.returncode

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _wait_group_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and group_members(self.process.pid):
            time.sleep(0.05)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "Child":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def all_group_stats(pgids: set[int] | None = None) -> dict[int, dict[int, list[str]]]:
    """pgid -> pid -> /proc/<pid>/stat fields from the state on (proc(5) field 3 = index 0),
    for every live, non-zombie process (of the given groups only, when `pgids` is given).
    One pass over /proc, whatever the number of groups."""
    found: dict[int, dict[int, list[str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pgid = int(fields[2])
        if fields[0] != "Z" and (pgids is None or pgid in pgids):
            found.setdefault(pgid, {})[int(entry.name)] = fields
    return found


def group_stats(pgid: int) -> dict[int, list[str]]:
    return all_group_stats({pgid}).get(pgid, {})


def group_members(pgid: int) -> list[int]:
    """Live processes in a process group."""
    return sorted(group_stats(pgid))


def stop_all() -> None:
    """Stop every child still registered (used on interrupt and at exit)."""
    for child in list(_live):
        child.stop(grace=3.0)
