"""A database that is far away: every find waits N ms inside MongoDB before it answers.

This kernel has no netem, so the delay is MongoDB's own `failCommand` fail point (a test
command: mongod must run with `--setParameter enableTestCommands=1`) in mode `alwaysOn` with
`{failCommands: ["find"], blockConnection: true, blockTimeMS: N}`: the connection's thread
sleeps N ms and then runs the find as usual. It burns no CPU, and finds on different
connections wait side by side, not one after the other (checked by `measure`).

What it models: a database whose every query answers N ms later, as a distant or busy one
does, so a worker that blocks on it holds its thread or process for N ms. What it does not:
a network round trip also delays connection setup, the handshake and every other command, and
queues packets on a shared link; here only finds wait, on an otherwise idle loopback.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from suite import documents
from suite.mongo import MongoError, redact
from suite.procs import signals_deferred
from suite.results import DbLatencyCheck

NAME = "failCommand"
PAIRS = 15           # sequential finds without and with the fail point, alternated
CONCURRENT = 20      # finds at once, each on its own pooled connection


def fail_point_data(ms: int) -> dict[str, Any]:
    return {"failCommands": ["find"], "blockConnection": True, "blockTimeMS": ms}


class FailPoint:
    """The fail point of one MongoDB, owned by a run: `off()` (also on close) whatever ends it."""

    def __init__(self, url: str, database: str):
        self.url = url
        self.client = MongoClient(url, serverSelectionTimeoutMS=5000, maxPoolSize=CONCURRENT,
                                  appname="battle-db-latency")
        self.collection = self.client[database][documents.COLLECTION]
        self.current_ms = 0

    def _configure(self, ms: int) -> None:
        command = {"configureFailPoint": NAME, "mode": "alwaysOn" if ms else "off"}
        if ms:
            command["data"] = fail_point_data(ms)
        try:
            self.client.admin.command(command)
        except OperationFailure as exc:
            reason = (exc.details or {}).get("errmsg") or str(exc)
            raise MongoError(f"MongoDB at {redact(self.url)} refuses the {NAME} fail point that "
                             f"adds database latency ({reason}): "
                             "start mongod with --setParameter enableTestCommands=1, or run "
                             "without --db-latency") from None
        except PyMongoError as exc:
            raise MongoError(f"cannot set the {NAME} fail point on {redact(self.url)}: "
                             f"{type(exc).__name__}") from None
        self.current_ms = ms

    def state(self) -> dict[str, Any]:
        """The fail point as MongoDB reports it: {"mode": 0 (off) | 1 (alwaysOn), "data": ...}."""
        reply = self.client.admin.command({"getParameter": 1, f"failpoint.{NAME}": 1})
        return reply[f"failpoint.{NAME}"]

    def _find_ms(self) -> float:
        started = time.perf_counter()
        self.collection.find_one({"_id": "small"})
        return (time.perf_counter() - started) * 1000

    def _concurrent_ms(self) -> list[float]:
        times: list[float] = []
        barrier = threading.Barrier(CONCURRENT)

        def one() -> None:
            barrier.wait(timeout=30)
            times.append(self._find_ms())

        for _ in range(2):   # the first burst fills the pool; the second is measured
            times.clear()
            threads = [threading.Thread(target=one, daemon=True) for _ in range(CONCURRENT)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        return times

    def set(self, ms: int) -> DbLatencyCheck | None:
        """Make every find wait `ms` (0: off) and, when on, measure what it adds (recorded, not
        judged: a check below the latency asked for is the report's to flag). Raises MongoError
        when MongoDB refuses the fail point."""
        if ms == 0:
            self._configure(0)
            return None
        without, with_ = [], []
        try:
            for _ in range(PAIRS):
                self._configure(0)
                without.append(self._find_ms())
                self._configure(ms)
                with_.append(self._find_ms())
            concurrent = self._concurrent_ms()
        except PyMongoError as exc:
            raise MongoError(f"timing finds on {redact(self.url)} failed: "
                             f"{type(exc).__name__}") from None
        check = DbLatencyCheck(
            requested_ms=ms,
            added_ms=round(statistics.median(b - a for a, b in zip(without, with_)), 3),
            without_p50_ms=round(statistics.median(without), 3),
            with_p50_ms=round(statistics.median(with_), 3), concurrent=len(concurrent),
            concurrent_p50_ms=round(statistics.median(concurrent), 3) if concurrent else 0.0,
            finds=PAIRS)
        return check

    def verify(self, ms: int) -> DbLatencyCheck | None:
        """Before anything is measured: the latency is added, and concurrent finds do not queue
        behind each other (which would model a database serving one query at a time)."""
        check = self.set(ms)
        if check is not None and check.short:
            raise MongoError(f"the {NAME} fail point added {check.added_ms:.2f} ms to a find, "
                             f"not the {ms} ms asked for")
        if check is not None and check.concurrent_p50_ms > ms * CONCURRENT / 2:
            raise MongoError(f"with the {NAME} fail point at {ms} ms, {CONCURRENT} concurrent "
                             f"finds took {check.concurrent_p50_ms:.1f} ms at the median: they "
                             "queue behind each other, which is not a distant database")
        return check

    def off(self) -> None:
        """Back to MongoDB as it is. Never raises: it runs on every way out of a run."""
        with signals_deferred():
            try:
                self._configure(0)
            except MongoError:
                pass

    def close(self) -> None:
        self.off()
        self.client.close()

    def describe(self, test_commands: str) -> dict[str, Any]:
        return {"name": NAME, "data": fail_point_data(0) | {"blockTimeMS": "per cell"},
                "test_commands": test_commands,
                "models": "a database whose every query answers N ms later, as a distant or busy "
                          "one does: a worker that waits on it holds its thread, greenlet or "
                          "coroutine for N ms more",
                "not_modelled": "a network round trip also delays connection setup, the "
                                "handshake and every other command, and queues packets on a "
                                "shared link; here only finds wait, on an otherwise idle "
                                "loopback"}
