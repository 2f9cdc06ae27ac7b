"""A database that is far away: every find waits N ms inside MongoDB before it answers.

This kernel has no netem, so the delay is one of MongoDB's own fail points (test commands:
mongod must run with `--setParameter enableTestCommands=1`), in mode `alwaysOn`:
`sleepMillisAfterCommandExecutionBegins` with `{millis: N, commands: {find: 1}}` where the
server has it (checked: mongod 6.0.5), else `failCommand` with `{failCommands: ["find"],
blockConnection: true, blockTimeMS: N}`. Either way the connection's thread sleeps N ms at
the start of the command (before it takes a lock or its operation is timed) and then runs the
find as usual. The wait burns no CPU, and finds on different connections wait side by side,
not one after the other (checked by `verify`). The first is preferred because it is silent:
`failCommand` logs three INFO lines (COMMAND ids 4898500 "Activating", 20432 "Blocking",
20433 "Unblocking", about 730 bytes) for every find it blocks, unconditionally (no verbosity,
`quiet` or `slowms` setting removes them), which made gigabytes of mongod.log and cost mongod
CPU the servers share. The fail point is still not free (mongod's thread sleeps and wakes for
every find); `verify` measures mongod's CPU per find with and without it (serverStatus) so the
report can say so.

What it models: a database whose every query answers N ms later, as a distant or busy one
does, so a worker that blocks on it holds its thread or process for N ms. What it does not:
a network round trip also delays connection setup, the handshake and every other command, and
queues packets on a shared link; here only finds wait, on an otherwise idle loopback.
"""

from __future__ import annotations

import dataclasses
import statistics
import threading
import time
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from suite.record import documents
from suite.measure.mongo import MongoError, redact
from suite.measure.procs import signals_deferred
from suite.record.results import DbLatencyCheck

# The fail points that can delay a command, preferred first: the first one this MongoDB has is
# used (a server without test commands has neither).
SLEEP = "sleepMillisAfterCommandExecutionBegins"   # silent
BLOCK = "failCommand"                              # logs 3 INFO lines per delayed command
NAMES = (SLEEP, BLOCK)
_NOT_FOUND = 266   # FailPointSetFailed: "<name> not found"
PAIRS = 15           # sequential finds without and with the fail point, alternated
CONCURRENT = 20      # finds at once, each on its own pooled connection
# The concurrency probe blocks at least this long, so a fail point that queued the finds
# (CONCURRENT x the block) could not be mistaken for thread start-up noise (a few ms here).
PROBE_MS = 10
# mongod's CPU per find, with and without the fail point: sequential finds in alternating
# blocks, as many as fit in about CPU_PROBE_MS of waiting per block (at least 20, at most 200).
CPU_BLOCKS = 2
CPU_PROBE_MS = 500
# serverStatus sections left out of the CPU reading: only extra_info is wanted, and building
# the rest would add its own CPU to what is measured.
_STATUS_SECTIONS_OFF = ("metrics", "wiredTiger", "tcmalloc", "locks", "opLatencies", "network",
                        "repl", "transactions", "storageEngine", "globalLock", "opcounters")


def fail_point_data(ms: int, commands: tuple[str, ...] = ("find",),
                    name: str = SLEEP) -> dict[str, Any]:
    """The `data` that makes `commands` wait `ms` with fail point `name`."""
    if name == SLEEP:
        return {"millis": ms, "commands": {command: 1 for command in commands}}
    return {"failCommands": list(commands), "blockConnection": True, "blockTimeMS": ms}


def _reason(exc: OperationFailure) -> str:
    return (exc.details or {}).get("errmsg") or str(exc)


class FailPoint:
    """The fail point of one MongoDB, owned by a run: `off()` (also on close) whatever ends it."""

    def __init__(self, url: str, database: str, commands: tuple[str, ...] = ("find",),
                 names: tuple[str, ...] = NAMES):
        self.url = url
        self.commands = commands     # what waits: finds, and inserts when the run writes
        self.names = names           # the fail points to try, preferred first
        self.name: str | None = None   # the one in use, chosen when first configured
        self.client = MongoClient(url, serverSelectionTimeoutMS=5000, maxPoolSize=CONCURRENT,
                                  appname="battle-db-latency")
        self.collection = self.client[database][documents.COLLECTION]
        self.current_ms = 0

    def _refused(self, reason: str) -> MongoError:
        return MongoError(f"MongoDB at {redact(self.url)} refuses the fail point that adds "
                          f"database latency ({reason}): start mongod with "
                          "--setParameter enableTestCommands=1, or run without --db-latency")

    def _choose(self) -> str:
        """The first of `names` this MongoDB has. Every one it has is turned off on the way, so
        one left on by an earlier run (e.g. killed, with another suite version) cannot add to
        the delay."""
        found: list[str] = []
        for name in self.names:
            try:
                self.client.admin.command({"configureFailPoint": name, "mode": "off"})
            except OperationFailure as exc:
                if exc.code != _NOT_FOUND:   # no test commands, or not allowed: refused
                    raise self._refused(_reason(exc)) from None
            else:
                found.append(name)
        if not found:
            raise self._refused(f"it has none of {', '.join(self.names)}")
        return found[0]

    def _configure(self, ms: int) -> None:
        try:
            if self.name is None:
                self.name = self._choose()
            command = {"configureFailPoint": self.name, "mode": "alwaysOn" if ms else "off"}
            if ms:
                command["data"] = fail_point_data(ms, self.commands, self.name)
            self.client.admin.command(command)
        except OperationFailure as exc:
            raise self._refused(_reason(exc)) from None
        except PyMongoError as exc:
            raise MongoError(f"cannot set the {self.name or self.names[0]} fail point on "
                             f"{redact(self.url)}: {type(exc).__name__}") from None
        self.current_ms = ms

    def state(self) -> dict[str, Any]:
        """The fail point as MongoDB reports it: {"mode": 0 (off) | 1 (alwaysOn), "data": ...}."""
        name = self.name or self.names[0]
        reply = self.client.admin.command({"getParameter": 1, f"failpoint.{name}": 1})
        return reply[f"failpoint.{name}"]

    def _find_ms(self) -> float:
        started = time.perf_counter()
        self.collection.find_one({"_id": "small"})
        return (time.perf_counter() - started) * 1000

    def _mongod_cpu_us(self) -> int | None:
        """mongod's user + system CPU so far, in us, as it reports it (Linux: serverStatus's
        extra_info); None where it does not."""
        command: dict[str, Any] = {"serverStatus": 1}
        command.update((section, 0) for section in _STATUS_SECTIONS_OFF)
        info = self.client.admin.command(command).get("extra_info", {})
        if "user_time_us" not in info or "system_time_us" not in info:
            return None
        return int(info["user_time_us"]) + int(info["system_time_us"])

    def cpu_per_find(self, ms: int) -> tuple[float | None, float | None]:
        """mongod's CPU per sequential find, in us, without and with the fail point at `ms`
        (the cost of the model, not of the wait); leaves the fail point at `ms`."""
        finds = max(20, min(200, CPU_PROBE_MS // max(ms, 1)))
        used = {0: 0, ms: 0}
        for _ in range(CPU_BLOCKS):
            for level in (0, ms):
                self._configure(level)
                before = self._mongod_cpu_us()
                for _ in range(finds):
                    self._find_ms()
                after = self._mongod_cpu_us()
                if before is None or after is None:
                    self._configure(ms)
                    return None, None
                used[level] += after - before
        per_find = finds * CPU_BLOCKS
        return round(used[0] / per_find, 1), round(used[ms] / per_find, 1)

    def _concurrent(self) -> tuple[list[float], float]:
        """CONCURRENT finds released at once: each one's time, and the burst's wall time."""
        times: list[float] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(CONCURRENT)

        def one() -> None:
            try:
                barrier.wait(timeout=30)
                times.append(self._find_ms())
            except BaseException as exc:   # reported below, not as a thread's traceback
                errors.append(exc)

        wall = 0.0
        for _ in range(2):   # the first burst fills the pool; the second is measured
            times.clear()
            threads = [threading.Thread(target=one, daemon=True) for _ in range(CONCURRENT)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            wall = (time.perf_counter() - started) * 1000
        if errors or len(times) != CONCURRENT:
            reason = type(errors[0]).__name__ if errors else "a find did not finish"
            raise MongoError(f"{CONCURRENT} concurrent finds on {redact(self.url)} failed: "
                             f"{reason}")
        return times, wall

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
        except PyMongoError as exc:
            raise MongoError(f"timing finds on {redact(self.url)} failed: "
                             f"{type(exc).__name__}") from None
        return DbLatencyCheck(
            requested_ms=ms,
            added_ms=round(statistics.median(b - a for a, b in zip(without, with_)), 3),
            without_p50_ms=round(statistics.median(without), 3),
            with_p50_ms=round(statistics.median(with_), 3), finds=PAIRS)

    def verify(self, ms: int) -> DbLatencyCheck:
        """Before anything is measured: the latency is added, and concurrent finds do not queue
        behind each other (which would model a database serving one query at a time): a burst
        of them, released at once and blocked at least PROBE_MS each, must each end within half
        the time they would take one after the other (queued, the last would take all of it).
        Each find's own time, not the burst's wall time, which also counts starting the
        threads: on a loaded machine that alone took 50 ms of a 10 ms probe's burst."""
        check = self.set(ms)
        if check.short:
            raise MongoError(f"the {self.name} fail point added {check.added_ms:.2f} ms to a "
                             f"find, not the {ms} ms asked for")
        probe = max(ms, PROBE_MS)
        try:
            self._configure(probe)
            times, wall = self._concurrent()
        finally:
            self._configure(ms)
        if max(times) > probe * CONCURRENT / 2:
            raise MongoError(f"with the {self.name} fail point at {probe} ms, the slowest of "
                             f"{CONCURRENT} concurrent finds took {max(times):.0f} ms: they "
                             "queue behind each other, which is not a distant database")
        try:
            cpu_without, cpu_with = self.cpu_per_find(ms)
        except PyMongoError as exc:
            raise MongoError(f"reading mongod's CPU on {redact(self.url)} failed: "
                             f"{type(exc).__name__}") from None
        return dataclasses.replace(check, concurrent=CONCURRENT, concurrent_block_ms=probe,
                                   concurrent_p50_ms=round(statistics.median(times), 3),
                                   concurrent_wall_ms=round(wall, 3),
                                   mongod_cpu_us_per_find_without=cpu_without,
                                   mongod_cpu_us_per_find_with=cpu_with)

    def off(self) -> None:
        """Back to MongoDB as it is. Never raises: it runs on every way out of a run."""
        if self.name is None:   # never configured: nothing of ours is on
            return
        with signals_deferred():
            try:
                self._configure(0)
            except MongoError:
                pass

    def close(self) -> None:
        self.off()
        self.client.close()

    def describe(self, test_commands: str) -> dict[str, Any]:
        waiting = " and ".join(f"{c}s" for c in self.commands)
        name = self.name or self.names[0]
        per_cell = {"millis" if name == SLEEP else "blockTimeMS": "per cell"}
        return {"name": name,
                "data": fail_point_data(0, self.commands, name) | per_cell,
                "commands": list(self.commands),
                "test_commands": test_commands,
                "models": f"a database whose every query answers N ms later ({waiting} wait), as "
                          "a distant or busy one does: a worker that waits on it holds its "
                          "thread, greenlet or coroutine for N ms more",
                "not_modelled": "a network round trip also delays connection setup, the "
                                "handshake and every other command, and queues packets on a "
                                f"shared link; here only {waiting} wait, on an otherwise idle "
                                "loopback"}
