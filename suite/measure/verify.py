"""Readiness and verification: a server is measured only after it answers the contract exactly."""

from __future__ import annotations

import json
import time
from http.client import HTTPException

from suite.record import documents

from suite.measure.http import get
from suite.measure.procs import check_interrupted
from suite.measure.toolchains import IMPLEMENTATIONS
from suite.record.catalog import Variant
from suite.record.results import VerificationCheck
from suite.measure.runtime import Server, ServerFailed


def wait_ready(server: Server, timeout_s: float) -> None:
    """Poll /health until it answers 200; fail fast if the server dies."""
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        check_interrupted()
        if not server.alive():
            raise ServerFailed(f"server died at start: {server.exit_detail()}")
        try:
            response = get(server.host, server.port, "/health", timeout=2)
            if response.status == 200:
                return
            last_error = f"/health answered {response.status}"
        except (OSError, HTTPException) as exc:
            last_error = str(exc) or type(exc).__name__
        time.sleep(0.1)
    raise ServerFailed(f"not ready within {timeout_s:g} s ({last_error}): {server.exit_detail()}")


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def check_document(server: Server, name: str, expected: bytes) -> VerificationCheck:
    try:
        response = get(server.host, server.port, f"/{name}")
    except (OSError, HTTPException) as exc:
        return VerificationCheck(f"/{name}", False, f"request failed: {exc}")
    if response.status != 200:
        return VerificationCheck(f"/{name}", False, f"status {response.status}, expected 200: "
                     f"{response.body[:120]!r}")
    if not is_json(response.content_type):
        return VerificationCheck(f"/{name}", False, f"Content-Type {response.content_type!r}, "
                     "expected application/json")
    if response.body != expected:
        try:
            same_json = json.loads(response.body) == json.loads(expected)
        except ValueError:
            same_json = False
        why = ("same JSON value, different bytes" if same_json
               else "body differs from the stored document")
        return VerificationCheck(f"/{name}", False, f"{why} ({len(response.body)} B, expected "
                     f"{len(expected)} B)")
    return VerificationCheck(f"/{name}", True, f"{len(expected)} B, exact")


def check_plain(server: Server) -> VerificationCheck:
    try:
        response = get(server.host, server.port, "/plain")
    except (OSError, HTTPException) as exc:
        return VerificationCheck("/plain", False, f"request failed: {exc}")
    try:
        body = json.loads(response.body)
    except ValueError:
        body = None
    if response.status != 200 or not is_json(response.content_type) or body != documents.PLAIN_BODY:
        return VerificationCheck("/plain", False, f"status {response.status}, Content-Type "
                     f"{response.content_type!r}, body {response.body[:80]!r}")
    return VerificationCheck("/plain", True, f"{len(response.body)} B")


# Reads of each document verification sends whose finds MongoDB must count, one each.
READS_CHECKED = 10


def check_reads(server: Server, counter, names: tuple[str, ...],
                reads: int = READS_CHECKED) -> VerificationCheck | None:
    """Every read is a real read: `reads` GETs of each document must make MongoDB run as many
    finds, by its own counters (`counter`: suite.measure.mongo.OpCounter), as TechEmpower's
    toolset checks a database test. None when MongoDB's counters cannot be read."""
    name = "reads query MongoDB"
    before = counter.read()
    if before is None:
        return None
    try:
        for doc in names:
            for _ in range(reads):
                get(server.host, server.port, f"/{doc}")
    except (OSError, HTTPException) as exc:
        return VerificationCheck(name, False, f"request failed: {exc}")
    after = counter.read()
    if after is None:
        return None
    asked, finds = reads * len(names), after[0] - before[0]
    paths = " and ".join(f"/{doc}" for doc in names)
    if finds < asked:
        return VerificationCheck(name, False, f"{asked} reads of {paths} made MongoDB run "
                                 f"{finds} find(s): the server answers without asking the "
                                 "database")
    return VerificationCheck(name, True, f"{asked} reads of {paths}, {finds} finds counted by "
                             "MongoDB")


def check_interpreter(server: Server, variant: Variant
                      ) -> tuple[VerificationCheck, dict | None]:
    """The interpreter as the server reports it on /health (servers/common.py health()): its
    version, whether it is a free-threaded build and whether the GIL is on now, after the
    reads verification made. A free-threaded row must run with the GIL off (an extension
    without free-threading support switches it back on, silently but for a warning), its twin
    and every other row with it on. Returns the check and what the server said."""
    name = "interpreter"
    try:
        response = get(server.host, server.port, "/health")
        said = json.loads(response.body)
    except (OSError, HTTPException) as exc:
        return VerificationCheck(name, False, f"/health failed: {exc}"), None
    except ValueError:
        said = None
    if not variant.python:
        return _check_toolchain(said, variant)
    if not isinstance(said, dict) or not isinstance(said.get("gil"), bool):
        return VerificationCheck(name, False, "/health does not say whether the GIL is on "
                                 '(expected {"gil": true|false, ...}: servers/common.py)'), None
    info = {key: said.get(key) for key in INTERPRETER_KEYS}
    build = "free-threaded" if info["free_threaded"] else "default"
    text = (f"{info['implementation']} {info['python']} {build} build, GIL "
            f"{'on' if info['gil'] else 'off'}, bodies by {info['json']}")
    if variant.free_threaded and not info["free_threaded"]:
        return VerificationCheck(name, False, f"{text}: expected a free-threaded build"), info
    if not variant.gil and info["gil"]:
        return VerificationCheck(name, False, f"{text}: the GIL came back on at run time (a "
                                 "module without free-threading support was imported; "
                                 "CPython's RuntimeWarning in the server log names it)"), info
    if variant.gil and not info["gil"]:
        return VerificationCheck(name, False, f"{text}: expected the GIL on"
                                 + (" (PYTHON_GIL=1 did not apply)" if variant.twin_of else "")
                                 ), info
    return VerificationCheck(name, True, text), info


# What a variant's record keeps of the server's /health (VariantResult.interpreter).
INTERPRETER_KEYS = ("implementation", "python", "free_threaded", "gil", "json")
# ... and of a reference row's (servers/node, servers/jvm, servers/rust).
TOOLCHAIN_KEYS = ("implementation", "version", "vm", "driver", "server")


def _check_toolchain(said, variant: Variant) -> tuple[VerificationCheck, dict | None]:
    """A reference row's /health: the implementation its toolchain is (Node.js, Java, Rust),
    its version and driver as the running process loaded them."""
    expected = IMPLEMENTATIONS.get(variant.interpreter)
    if not isinstance(said, dict) or not isinstance(said.get("version"), str):
        return VerificationCheck("interpreter", False, "/health does not say its "
                                 'implementation and version (expected {"implementation": '
                                 f'"{expected}", "version": ..., "driver": ...}})'), None
    info = {key: said[key] for key in TOOLCHAIN_KEYS if isinstance(said.get(key), str)}
    text = ", ".join(f"{info[k]}" for k in ("implementation", "version") if k in info) + \
        "".join(f", {k} {info[k]}" for k in ("vm", "server", "driver") if k in info)
    if info.get("implementation") != expected:
        return VerificationCheck("interpreter", False, f"{text}: expected {expected}"), info
    return VerificationCheck("interpreter", True, text), info


def verify(server: Server, names: tuple[str, ...] = documents.DOCUMENT_NAMES) -> list[VerificationCheck]:
    """Every document byte-for-byte, plus /plain. All checks run, so every failure is listed."""
    expected = documents.expected_bodies()
    return [*(check_document(server, name, expected[name]) for name in names), check_plain(server)]


QUIET_FAST_S = 0.5     # a /health answered within this counts as "the server is idle"
QUIET_GAP_S = 0.5      # between the two /health requests that must both be fast


def wait_quiet(server: Server, timeout_s: float) -> float:
    """Wait until the server has finished with the previous load; return the seconds waited.

    When wrk exits, a server that accepts one connection at a time (gunicorn's sync worker)
    still has thousands of connections in its accept queue whose client is gone, and serves
    each of them, in order, before any new one: seconds of work for nobody, during which the
    next cell would get no answer at all. A /health request queues behind them, so it is
    answered only once they are drained. Two fast answers, a gap apart, because connections
    still in the handshake join the queue a little later. Raises ServerFailed after `timeout_s`."""
    start = time.monotonic()
    deadline = start + timeout_s
    fast = 0
    while True:
        check_interrupted()
        if not server.alive():
            raise ServerFailed(f"server died: {server.exit_detail()}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise ServerFailed(f"still busy with the previous load {timeout_s:g} s after it "
                               f"ended (/health not answered within {QUIET_FAST_S:g} s twice)")
        sent = time.monotonic()
        try:
            answered = get(server.host, server.port, "/health", timeout=left).status == 200
        except (OSError, HTTPException):
            answered = False
        fast = fast + 1 if answered and time.monotonic() - sent < QUIET_FAST_S else 0
        if fast >= 2:
            return round(time.monotonic() - start, 3)
        time.sleep(QUIET_GAP_S if fast else 0.1)
