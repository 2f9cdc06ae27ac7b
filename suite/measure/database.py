"""The run's MongoDB as its executions use it: where it is, its own operation counters (read
around every execution), the fail point that makes it slow, and whether it is still there.
Set up once per run (RunDatabase.set_up); everything it turns on, the run's ExitStack turns off.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from pymongo.errors import PyMongoError

from suite.measure.bringup import database_up
from suite.measure.dblatency import FailPoint
from suite.measure.mongo import MongoError, OpCounter, ping, redact
from suite.measure.runtime import MongoEndpoint, Runtime, Server
from suite.measure.verify import wait_quiet
from suite.record import documents
from suite.record.results import DbLatencyCheck, MongoInfo

# mongod's operation counters must stand still this long before a repeat starts: finds of
# requests abandoned by the last repeat (a server still working through its queue) would
# otherwise land in the next repeat's window.
DB_QUIET_S = 0.5

T = TypeVar("T")


class DependencyDied(Exception):
    """Something the suite itself depends on died mid-run (its mongod, the load generator): the
    run stops at once, the repeat in flight is discarded, no later server is started (its
    verification would fail on a dead database and read as the server's fault)."""


def mongo_call(call: Callable[[], T]) -> T:
    """A call to MongoDB by the suite itself; a failure is one line (MongoError), which fails
    the cell, not the run."""
    try:
        return call()
    except PyMongoError as exc:
        raise MongoError(f"MongoDB: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") \
            from None


def ignore_mongo_errors(cleanup: Callable[[], object]) -> None:
    """A clean-up on the way out of a run: a MongoDB error there is never the run's error."""
    try:
        cleanup()
    except PyMongoError:
        pass


class RunDatabase:
    """The run's MongoDB: `endpoint` (url, process), `info` (what the results record of it),
    `counter` (its `top` counters; None readings where refused) and, when the run adds
    latency, `fail_point`."""

    def __init__(self, endpoint: MongoEndpoint, name: str, info: MongoInfo,
                 counter: OpCounter):
        self.endpoint, self.name, self.info, self.counter = endpoint, name, info, counter
        self.fail_point: FailPoint | None = None

    @classmethod
    def set_up(cls, stack: ExitStack, runtime: Runtime, *, mongo_url: str | None, name: str,
               log_path: Path, test_commands: bool) -> RunDatabase:
        """Up and seeded (bringup.database_up), its counters opened; the stack closes them."""
        endpoint, seeded = database_up(stack, runtime, mongo_url, name, log_path,
                                       test_commands=test_commands)
        info = MongoInfo(
            url=redact(endpoint.url), embedded=endpoint.embedded, binary=endpoint.binary,
            version=seeded.version, database=seeded.database, collection=seeded.collection,
            bson_bytes=seeded.bson_sizes,
            json_bytes={k: len(v) for k, v in documents.expected_bodies().items()},
            container=endpoint.container)
        counter = OpCounter(endpoint.url, name)
        stack.callback(counter.close)
        return cls(endpoint, name, info, counter)

    @property
    def url(self) -> str:
        return self.endpoint.url

    def counts(self) -> tuple[int, int] | None:
        """(finds, inserts) so far, by MongoDB's own counters; None where they are refused."""
        return mongo_call(self.counter.read)

    def wait_quiet(self, timeout_s: float) -> float:
        """Seconds waited until the counters stood still for DB_QUIET_S (at most `timeout_s`;
        nothing to wait for where they cannot be read)."""
        started = time.monotonic()
        last = self.counts()
        while last is not None and time.monotonic() - started < timeout_s:
            time.sleep(DB_QUIET_S)
            current = self.counts()
            if current == last:
                break
            last = current
        return max(0.0, round(time.monotonic() - started - DB_QUIET_S, 2)) \
            if last is not None else 0.0

    def check_alive(self) -> None:
        """Raises DependencyDied when the run's MongoDB is gone: its process ended (one the
        runtime started) or it no longer answers a ping."""
        endpoint = self.endpoint
        if endpoint.alive is not None and not endpoint.alive():
            detail = endpoint.exit_detail() if endpoint.exit_detail else "it exited"
            raise DependencyDied(f"the suite's mongod died: {detail}")
        if not ping(endpoint.url, timeout_ms=3000):
            raise DependencyDied(f"MongoDB at {redact(endpoint.url)} stopped answering")

    def add_latency(self, stack: ExitStack, latencies_ms: tuple[int, ...],
                    commands: tuple[str, ...]) -> list[DbLatencyCheck]:
        """The fail point that delays `commands`, each latency of `latencies_ms` verified
        (refused or ineffective is one error before anything is measured); off again however
        the run ends (the stack), which matters for a --mongo-url server that outlives it."""
        self.fail_point = FailPoint(self.url, self.name, commands=commands)
        stack.callback(self.fail_point.close)
        self.fail_point.set(0)   # refused here when the server has no test commands
        checks = [self.fail_point.verify(ms) for ms in sorted(ms for ms in latencies_ms if ms)]
        self.fail_point.set(0)
        return checks

    def describe_fail_point(self, checks: list[DbLatencyCheck]) -> dict:
        """The fail point as the results record it, with the checks add_latency made."""
        return {**self.fail_point.describe("enabled by the suite (--setParameter "
                                           "enableTestCommands=1)" if self.endpoint.embedded
                                           else "already enabled on --mongo-url's server"),
                "verified": [dataclasses.asdict(check) for check in checks]}

    def latency_off(self) -> None:
        """No added latency: each server start measures each latency it uses afresh."""
        if self.fail_point is not None:
            mongo_call(lambda: self.fail_point.set(0))

    def set_latency(self, server: Server, ms: int, ready_timeout_s: float
                    ) -> DbLatencyCheck | None:
        """The fail point at `ms`, measured each time it changes, once the server is idle
        (finds timed during the previous cell's drain would measure the drain); None when it
        stays as it is or there is no fail point."""
        if self.fail_point is None or self.fail_point.current_ms == ms:
            return None
        wait_quiet(server, ready_timeout_s)
        return self.fail_point.set(ms)
