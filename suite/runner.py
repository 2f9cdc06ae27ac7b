"""A run: MongoDB up and seeded, then each variant in turn started, verified, measured, stopped.

Data flows one way: catalog -> runtime starts a variant -> verify -> wrk -> samples -> results
file. The results file is rewritten after every change, so an interrupted run keeps everything
it measured; formatting belongs to suite.report.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from suite import documents, environment, results
from suite.catalog import Variant
from suite.loadgen import LoadGenError, Wrk, find_wrk, wrk_version
from suite.mongo import DEFAULT_DATABASE, MongoError, free_port, port_is_free, redact, seed
from suite.profiles import Profile
from suite.results import Cell, RunResult, VariantResult
from suite.runtime import MongoEndpoint, Runtime, Server, ServerFailed
from suite.verify import verify, wait_ready

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


@dataclass
class RunOptions:
    variants: list[Variant]
    profile: Profile
    runtime: Runtime
    out_dir: Path
    mongo_url: str | None = None
    database: str = DEFAULT_DATABASE
    port: int | None = None
    argv: tuple[str, ...] = ()


class Runner:
    """Owns one run: its results file, its MongoDB, and the server currently measured."""

    def __init__(self, options: RunOptions, progress: Progress = _stderr):
        self.options = options
        self.profile = options.profile
        self.runtime = options.runtime
        self.progress = progress
        self.wrk = Wrk(find_wrk(), threads=self.runtime.loadgen_cpus(),
                       timeout_s=self.profile.timeout_s)
        self.run_id = new_run_id()
        self.path = options.out_dir / f"{self.run_id}.json"
        self.artifacts = options.out_dir / self.run_id
        self.result = RunResult(
            run_id=self.run_id, started_at=now(), profile=self.profile,
            runtime=self.runtime.name, argv=list(options.argv),
            environment=environment.collect(), mongo={},
            loadgen={"tool": "wrk", "version": wrk_version(self.wrk.binary),
                     "threads": self.wrk.threads, "timeout_s": self.wrk.timeout_s,
                     "script": "suite/wrk/report.lua"})

    def save(self) -> None:
        results.save(self.result, self.path)

    def run(self) -> RunResult:
        self.progress(f"run {self.run_id}: {len(self.options.variants)} variant(s), profile "
                      f"{self.profile.name}, results in {self.path}")
        try:
            with ExitStack() as stack:
                endpoint = self._mongo(stack)
                for variant in self.options.variants:
                    self._measure_variant(variant, endpoint)
            self.result.status = "complete" if self.measured_cells() else "failed"
        except KeyboardInterrupt:
            self.result.status = "interrupted"
            for variant in self.result.variants:
                if variant.status == "pending":
                    variant.status, variant.reason = "interrupted", "run interrupted"
            raise
        except BaseException:
            self.result.status = "failed"
            raise
        finally:
            self.result.finished_at = now()
            self.save()
        return self.result

    def measured_cells(self) -> int:
        return sum(c.status == "measured" for v in self.result.variants for c in v.cells)

    def _mongo(self, stack: ExitStack) -> MongoEndpoint:
        if self.options.mongo_url:
            endpoint = MongoEndpoint(url=self.options.mongo_url, embedded=False)
        else:
            self.progress("starting mongod")
            endpoint = stack.enter_context(self.runtime.mongo(self.artifacts / "mongod.log"))
        info = seed(endpoint.url, self.options.database)
        self.result.mongo = {
            "url": redact(endpoint.url), "embedded": endpoint.embedded, "binary": endpoint.binary,
            "version": info.version, "database": info.database, "collection": info.collection,
            "bson_bytes": info.bson_sizes,
            "json_bytes": {k: len(v) for k, v in documents.expected_bodies().items()},
        }
        self.save()
        return endpoint

    def _measure_variant(self, variant: Variant, endpoint: MongoEndpoint) -> None:
        settings = variant.resolve(cpus=self.runtime.server_cpus(),
                                   max_connections=max(self.profile.connections))
        port = self.options.port or free_port()
        log_path = self.artifacts / "logs" / f"{variant.name}.log"
        record = VariantResult(
            name=variant.name, app=variant.app, server=variant.server,
            worker_model=variant.worker_model, driver=variant.driver, why=variant.why,
            settings=settings, command=self.runtime.command(variant, settings, port),
            packages=self.runtime.package_versions(variant),
            log=str(log_path.relative_to(self.options.out_dir)),
            cells=[Cell(doc, conns) for doc in self.profile.docs
                   for conns in self.profile.connections])
        self.result.variants.append(record)
        self.save()
        self.progress(f"[{variant.name}] starting on port {port}")
        if not port_is_free(port):
            self._fail(record, f"port {port} on 127.0.0.1 is already in use")
            return
        server: Server | None = None
        try:
            server = self.runtime.start_server(variant, settings, mongo_url=endpoint.url,
                                               database=self.options.database, port=port,
                                               log_path=log_path)
            wait_ready(server, self.profile.ready_timeout_s)
            record.verification = verify(server, self.profile.docs)
            failed = [c for c in record.verification if not c.passed]
            if failed:
                self._fail(record, "verification failed: "
                           + "; ".join(f"{c.name}: {c.detail}" for c in failed))
                return
            self.progress(f"[{variant.name}] verified: "
                          + ", ".join(c.name for c in record.verification))
            for cell in record.cells:
                self._measure_cell(variant.name, server, cell)
                if not server.alive():
                    self._fail(record, f"server died during {cell.doc} @ {cell.connections}: "
                               f"{server.exit_detail()}")
                    return
            record.status = "measured"
            self.save()
        except ServerFailed as exc:
            self._fail(record, str(exc))
        except KeyboardInterrupt:
            record.status, record.reason = "interrupted", "run interrupted"
            raise
        finally:
            if server is not None:
                server.stop()

    def _fail(self, record: VariantResult, reason: str) -> None:
        record.status, record.reason = "failed", reason
        for cell in record.cells:
            if cell.status == "pending":
                cell.status, cell.reason = "skipped", "variant failed"
        self.save()
        self.progress(f"[{record.name}] FAILED: {reason}")

    def _measure_cell(self, name: str, server: Server, cell: Cell) -> None:
        url = f"http://{server.host}:{server.port}/{cell.doc}"
        raw = self.artifacts / "raw" / name
        stem = f"{cell.doc}-c{cell.connections}"
        try:
            if self.profile.warmup_s:
                cell.warmup = self.wrk.run(url, cell.connections, self.profile.warmup_s,
                                           raw / f"{stem}-warmup.txt", self.options.out_dir)
                self.save()
            for repeat in range(1, self.profile.repeats + 1):
                sample = self.wrk.run(url, cell.connections, self.profile.duration_s,
                                      raw / f"{stem}-r{repeat}.txt", self.options.out_dir)
                cell.repeats.append(sample)
                self.save()
                self.progress(f"[{name}] {cell.doc} c={cell.connections} repeat {repeat}: "
                              f"{sample.ok_rps:,.0f} ok req/s, {sample.error_count} errors")
            cell.status = "measured"
        except LoadGenError as exc:
            cell.status, cell.reason = "failed", str(exc)
            self.progress(f"[{name}] {cell.doc} c={cell.connections} FAILED: {exc}")
        self.save()
        time.sleep(self.profile.pause_s)


def run(options: RunOptions, progress: Progress = _stderr) -> RunResult:
    return Runner(options, progress).run()


__all__ = ["RunOptions", "Runner", "run", "MongoError", "LoadGenError"]
