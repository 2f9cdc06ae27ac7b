"""Load generators: wrk (the default) and oha (a second, independent one). Each builds its
command line, runs it while the roles' resources are sampled, and turns its output into the
same Sample: responses, failures by class, and measured latency."""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from suite.measure import command
from suite.measure.command import CommandError
from suite.measure.procs import Child
from suite.measure.resources import Cgroup, Monitor
from suite.record.results import (ERROR_KEYS, LATENCY_KEYS, REQUEST_ERROR_KEYS, Sample, Spread,
                                  Usage)
from suite.measure.text import last_line

SCRIPT = Path(__file__).parent / "wrk" / "report.lua"
MARKER = "BATTLE_WRK "
OHA_VERSION = "1.16.0"   # built by scripts/ensure-tools (cargo install --locked): keep equal
Watches = dict[str, int | Cgroup | None]   # role -> what its resources are read from
# Called once half-way through an execution, with the seconds since it started: how the
# connections sit on the server's workers then (suite.measure.connections.spread).
SpreadReader = Callable[[float], "Spread | None"]


class GeneratorDied(Exception):
    """The load generator was killed mid-run (by a signal it did not send itself): the run
    stops (suite.measure.runner), it is not the server's failure."""


class LoadGenError(Exception):
    """A load generator is missing, failed, or printed no result."""


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadGenError("wrk not found: install it (`apt-get install wrk`, or `make setup` "
                           "as root)")
    return path


def oha_cache() -> Path:
    """Where scripts/ensure-tools installs the pinned oha."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "python-server-battle" / f"oha-{OHA_VERSION}" / "bin" / "oha"


def find_oha() -> str:
    pinned = oha_cache()
    path = str(pinned) if os.access(pinned, os.X_OK) else shutil.which("oha")
    if path is None:
        raise LoadGenError(f"oha not found: `make setup` builds oha {OHA_VERSION} with cargo "
                           "(get cargo from your OS packages or https://rustup.rs)")
    return path


def tool_version(binary: str, flag: str) -> str:
    # `wrk -v` prints its banner and usage, and exits 1.
    try:
        out = command.run([binary, flag], timeout=10)
    except CommandError as exc:
        raise LoadGenError(str(exc)) from None
    text = out.stdout or out.stderr
    return text.splitlines()[0].strip() if text else ""


def wrk_version(wrk: str) -> str:
    return tool_version(wrk, "-v")


@dataclass
class Execution:
    output: str
    returncode: int | None
    usage: dict[str, Usage] | None
    spread: Spread | None = None


@contextmanager
def reading_spread(read_spread: SpreadReader | None,
                   at_s: float) -> Iterator[list[Spread | None]]:
    """While the block runs (one execution), `read_spread(at_s)` once in a thread, `at_s` after
    the block starts; what it read lands in the list yielded (empty: not read, or no reader). A
    reading not yet made when the block ends is cancelled."""
    found: list[Spread | None] = []

    def take() -> None:
        try:
            found.append(read_spread(at_s))
        except Exception:   # a process that went away mid-read: no spread, not a failed repeat
            pass
    timer = threading.Timer(at_s, take) if read_spread is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        yield found
    finally:
        if timer is not None:
            timer.cancel()
            timer.join(timeout=5)


def execute(argv: list[str], *, limit_s: float, watch: Watches | None,
            cpus: tuple[int, ...] = (), env: dict[str, str] | None = None,
            read_spread: SpreadReader | None = None, spread_at_s: float = 0.0) -> Execution:
    """Run one load generator to its end. `watch` names what to sample while it runs (role ->
    process group id or container cgroup), CPU and memory, together with its own ("loadgen");
    `read_spread` runs once, `spread_at_s` after the start."""
    # The generator is the only child reaped while it runs, so the change in RUSAGE_CHILDREN is
    # its CPU time, to its last tick (sampling /proc would miss the time after the last sample).
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    child = Child(argv, env=env, cpus=cpus or None)
    monitor = Monitor({**(watch or {}), "loadgen": child.pid}).start() if watch is not None \
        else None
    try:
        with reading_spread(read_spread, spread_at_s) as spread_read:
            output = child.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        raise LoadGenError(f"{Path(argv[0]).name} did not finish within {limit_s:g} s") from None
    finally:
        usage = monitor.stop() if monitor else None
        child.stop(grace=2)
    if usage is not None:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        usage["loadgen"].cpu_cores = round(cpu_s / max(time.monotonic() - started, 1e-6), 3)
    return Execution(output, child.returncode, usage, spread_read[0] if spread_read else None)


@dataclass(frozen=True)
class Wrk:
    """wrk 4.1 driven through suite/measure/wrk/report.lua, which adds measured latency and the lost
    and body failure classes to wrk's own counters (see the script's header)."""

    binary: str
    threads: int                 # threads available to the load generator (its CPUs)
    timeout_s: int
    cpus: tuple[int, ...] = ()   # pinned CPUs (empty: not pinned)

    def threads_for(self, connections: int) -> int:
        # wrk splits connections evenly over threads and needs connections >= threads.
        return max(1, min(connections, self.threads))

    def args(self, url: str, connections: int, duration_s: int,
             script: str = str(SCRIPT)) -> list[str]:
        """`script`: where wrk finds report.lua (a placed run's client has its own copy)."""
        return ["-t", str(self.threads_for(connections)), "-c", str(connections),
                "-d", f"{duration_s}s", "--timeout", f"{self.timeout_s}s", "-s", script, url]

    def run(self, url: str, connections: int, duration_s: int, raw_path: Path,
            relative_to: Path, watch: Watches | None = None,
            expect_body: Path | None = None, write_ids: Path | None = None,
            write_run: str = "", read_spread: SpreadReader | None = None) -> Sample:
        """One wrk execution. `expect_body`: a file with the bytes every response below 400
        must carry. `write_ids`: POST a small document per request instead, tagged `write_run`
        with a key unique within the execution, and write the ids of the acknowledged inserts
        to `write_ids`.<thread> (suite/measure/wrk/report.lua)."""
        args = self.args(url, connections, duration_s)
        env = {**os.environ, "BATTLE_CONNECTIONS": str(connections),
               "BATTLE_EXPECT_BODY": str(expect_body or ""),
               "BATTLE_WRITE_IDS": str(write_ids or ""), "BATTLE_WRITE_RUN": write_run}
        done = execute([self.binary, *args], limit_s=duration_s + self.timeout_s + 30,
                       watch=watch, cpus=self.cpus, env=env, read_spread=read_spread,
                       spread_at_s=duration_s / 2)
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        raw_path.write_text(done.output)
        if done.returncode is not None and done.returncode < 0:
            raise GeneratorDied(f"wrk was killed by signal {-done.returncode} mid-run")
        if done.returncode != 0:
            raise LoadGenError(f"wrk exited with {done.returncode}: {last_line(done.output)}")
        sample = parse_output(done.output, args, str(raw_path.relative_to(relative_to)))
        sample.resources, sample.spread = done.usage, done.spread
        return sample

    def describe(self) -> dict:
        """What the results record about this generator and how it measured."""
        return wrk_description(wrk_version(self.binary), self.threads, self.timeout_s)


def wrk_description(version: str, threads: int, timeout_s: int) -> dict:
    return {"tool": "wrk", "version": version, "threads": threads, "timeout_s": timeout_s,
            "script": "suite/measure/wrk/report.lua",
            "latency": "measured: wrk's histogram with its coordinated-omission correction "
                       "undone exactly (suite/measure/wrk/histogram.lua); wrk's corrected figures "
                       "kept apart",
            "failure_classes": list(ERROR_KEYS),
            "body_check": "every response below HTTP 400 compared whole with the verified bytes"}


def _latency(values: dict | None) -> dict[str, float | None] | None:
    if values is None:
        return None
    return {key: None if values[key] is None else float(values[key]) for key in LATENCY_KEYS}


def parse_output(output: str, args: list[str], raw_output: str) -> Sample:
    """The Sample from wrk's output: exactly one BATTLE_WRK line is expected."""
    lines = [line[len(MARKER):] for line in output.splitlines() if line.startswith(MARKER)]
    if len(lines) != 1:
        raise LoadGenError(f"expected one {MARKER.strip()} line in wrk output, found "
                           f"{len(lines)}: {last_line(output)}")
    try:
        data = json.loads(lines[0])
        wrk_errors, body = data["errors"], data["body"]
        errors = {key: int(wrk_errors[key]) for key in ("connect", "read", "write", "status")}
        # wrk's "timeout" counts responses that arrived after --timeout (they are also in
        # "requests"); requests that never got an answer are counted by the script.
        errors.update(late=int(wrk_errors["timeout"]), lost=int(data["sockets"]["lost"]),
                      body=None if body is None else int(body["wrong"]))
        return Sample(generator="wrk", connections=int(data["connections"]),
                      threads=int(data["threads"]), timeout_s=int(data["timeout_us"]) / 1e6,
                      requests=int(data["requests"]), bytes=int(data["bytes"]),
                      duration_s=int(data["duration_us"]) / 1e6, errors=errors,
                      latency_us=_latency(data["latency_us"]) or {k: None for k in LATENCY_KEYS},
                      latency_count=int(data["latency_count"]), args=args,
                      raw_output=raw_output,
                      latency_corrected_us=_latency(data["latency_corrected_us"]),
                      body_checked=None if body is None else int(body["checked"]),
                      sockets={k: int(v) for k, v in data["sockets"].items()})
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise LoadGenError(f"malformed wrk result line {lines[0]!r}: {exc!r}") from None


def latency_summary(values_us: list[float]) -> dict[str, float | None]:
    """min, mean, stdev (sample), max and nearest-rank percentiles, as the wrk script computes
    them (suite/measure/wrk/histogram.lua), of raw per-response latencies."""
    if not values_us:
        return {key: None for key in LATENCY_KEYS}
    ordered = sorted(values_us)
    n = len(ordered)
    mean = sum(ordered) / n
    stdev = math.sqrt(sum((v - mean) ** 2 for v in ordered) / (n - 1)) if n > 1 else 0.0
    result = {"min": ordered[0], "mean": mean, "stdev": stdev, "max": ordered[-1]}
    for key in LATENCY_KEYS:
        if key.startswith("p"):
            rank = max(1, math.ceil(float(key[1:]) / 100 * n - 1e-9))
            result[key] = ordered[rank - 1]
    return {key: round(result[key], 1) for key in LATENCY_KEYS}


# oha's error messages (its own and hyper's, see README "Load generators") by failure class.
# A request with no response within oha's timeout is abandoned there: oha cannot tell a late
# answer from none, so it is counted as lost. Requests in flight when the run ends are not
# failures ("aborted due to deadline"), as wrk leaves its own in-flight requests uncounted.
OHA_IN_FLIGHT = "aborted due to deadline"
OHA_TIMEOUT = "timeout"


def oha_error_class(message: str) -> str:
    text = message.lower()
    if any(word in text for word in ("refused", "unreachable", "dns", "dial", "connect tim")):
        return "connect"
    if "broken pipe" in text or "write" in text:
        return "write"
    return "read"


@dataclass(frozen=True)
class Oha:
    """oha (Rust, hyper) as an independent closed-loop generator: the same connections,
    keep-alive, HTTP/1.1. Every response's latency, status and size come from its per-request
    records (--db-url, written after the run), its errors from its JSON summary."""

    binary: str
    threads: int
    timeout_s: int
    cpus: tuple[int, ...] = ()

    def args(self, url: str, connections: int, duration_s: int, json_path: Path,
             db_path: Path, rate: float | None = None) -> list[str]:
        # Open loop: requests are due at a fixed rate whatever the answers; each one's latency
        # runs from the moment it was due (--latency-correction), so a wait for a free
        # connection counts. -c then bounds the requests in flight.
        open_loop = ["-q", f"{rate:g}", "--latency-correction"] if rate else []
        return ["--no-tui", "--output-format", "json", "-o", str(json_path),
                "--db-url", str(db_path), "-c", str(connections), "-z", f"{duration_s}s",
                "-t", f"{self.timeout_s}s", *open_loop, "--disable-compression",
                "--worker-threads", str(self.threads), url]

    def run(self, url: str, connections: int, duration_s: int, raw_path: Path,
            relative_to: Path, watch: Watches | None = None,
            expect_body: Path | None = None, rate: float | None = None,
            read_spread: SpreadReader | None = None) -> Sample:
        raw_path = raw_path.with_suffix(".json")
        raw_path.parent.mkdir(parents=True, exist_ok=True)
        db_path = raw_path.with_suffix(".sqlite")
        db_path.unlink(missing_ok=True)
        args = self.args(url, connections, duration_s, raw_path, db_path, rate)
        try:
            done = execute([self.binary, *args], limit_s=duration_s + self.timeout_s + 60,
                           watch=watch, cpus=self.cpus, read_spread=read_spread,
                           spread_at_s=duration_s / 2)
            if done.returncode is not None and done.returncode < 0:
                raise GeneratorDied(f"oha was killed by signal {-done.returncode} mid-run")
            if done.returncode != 0:
                raise LoadGenError(f"oha exited with {done.returncode}: "
                                   f"{last_line(done.output)}")
            try:
                report = json.loads(raw_path.read_text())
                rows = oha_rows(db_path)
            except (OSError, ValueError, sqlite3.Error) as exc:
                raise LoadGenError(f"oha left no readable result: {exc}") from None
        finally:
            # One row per response: megabytes per repeat. The summary below keeps what counts.
            db_path.unlink(missing_ok=True)
        sample = self.sample(report, rows, connections=connections, duration_s=duration_s,
                             args=args, raw_output=str(raw_path.relative_to(relative_to)),
                             expect_body=expect_body, rate=rate)
        sample.resources, sample.spread = done.usage, done.spread
        return sample

    def sample(self, report: dict, rows: list[tuple[float, int, int]], *, connections: int,
               duration_s: int, args: list[str], raw_output: str,
               expect_body: Path | None = None, rate: float | None = None) -> Sample:
        """The Sample of one execution from its JSON summary and per-request rows, wherever
        oha ran (here, or a placed run's client container)."""
        expected = len(expect_body.read_bytes()) if expect_body else None
        return parse_oha(report, rows, expected_length=expected, connections=connections,
                         threads=self.threads, timeout_s=self.timeout_s, args=args,
                         raw_output=raw_output, rate=rate, planned_s=duration_s)

    def describe(self) -> dict:
        return {"tool": "oha", "version": tool_version(self.binary, "--version"),
                "threads": self.threads, "timeout_s": self.timeout_s,
                "latency": "measured: every response's time from oha's per-request records",
                "failure_classes": ["connect", "read", "write", "status", "lost", "body"],
                "body_check": "the length of every response below HTTP 400 compared with the "
                              "verified bytes' (oha keeps sizes, not bodies)"}


def oha_rows(db_path: Path) -> list[tuple[float, int, int]]:
    if not db_path.exists():  # oha writes no database when nothing was answered
        return []
    with sqlite3.connect(db_path) as db:
        return db.execute("SELECT duration, status, len_bytes FROM oha").fetchall()


def parse_oha(report: dict, rows: list[tuple[float, int, int]], *,
              expected_length: int | None, connections: int, threads: int, timeout_s: float,
              args: list[str], raw_output: str, rate: float | None = None,
              planned_s: float | None = None) -> Sample:
    """The Sample from oha's JSON summary and its per-request rows (seconds, status, bytes).

    Open loop (`rate`): a row's seconds run from when the request was due, so a response
    slower than the timeout from then is late; requests the schedule called for but oha never
    sent (all connections busy until the end) are `unsent`, and lost if they were due more
    than the timeout before the end."""
    try:
        errors: dict[str, int | None] = {"connect": 0, "read": 0, "write": 0, "lost": 0}
        issued = len(rows)
        for message, count in report["errorDistribution"].items():
            issued += int(count)
            if message == OHA_TIMEOUT:
                errors["lost"] += int(count)
            elif message != OHA_IN_FLIGHT:
                errors[oha_error_class(message)] += int(count)
        duration_s = float(report["summary"]["total"])
    except (KeyError, TypeError, ValueError) as exc:
        raise LoadGenError(f"malformed oha result: {exc!r}") from None
    unsent = None
    if rate:
        planned = planned_s or duration_s
        unsent = max(0, round(planned * rate) - issued)
        errors["lost"] += max(0, min(round(planned * rate),
                                     math.ceil((planned - timeout_s) * rate)) - issued)
    in_time = [(s, status, length) for s, status, length in rows if not rate or s <= timeout_s]
    errors["late"] = len(rows) - len(in_time) if rate else None
    errors["status"] = sum(1 for _, status, _ in in_time if status >= 400)
    errors["body"] = None if expected_length is None else sum(
        1 for _, status, length in in_time if status < 400 and length != expected_length)
    latencies = [seconds * 1e6 for seconds, _, _ in in_time]
    return Sample(generator="oha", connections=connections, threads=threads,
                  timeout_s=float(timeout_s), requests=len(rows),
                  bytes=sum(length for _, _, length in rows), duration_s=duration_s,
                  errors={key: errors[key] for key in REQUEST_ERROR_KEYS},
                  latency_us=latency_summary(latencies), latency_count=len(latencies),
                  args=args, raw_output=raw_output, rate=rate, unsent=unsent,
                  body_checked=None if expected_length is None else sum(
                      1 for _, status, _ in in_time if status < 400))


GENERATORS = {"wrk": (find_wrk, Wrk), "oha": (find_oha, Oha)}


def make_generator(name: str, threads: int, timeout_s: int,
                   cpus: tuple[int, ...] = ()) -> "Wrk | Oha":
    find, kind = GENERATORS[name]
    return kind(find(), threads=threads, timeout_s=timeout_s, cpus=cpus)
