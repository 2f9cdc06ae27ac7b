"""The bring-up `battle run` and `battle serve` share: the run's MongoDB (started and seeded,
or --mongo-url's as it is), then a variant started, ready and verified (through its balancer,
for a deployment). The runner measures what this brings up; serve leaves it running."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from suite.measure.balancer import start_deployment
from suite.measure.mongo import OpCounter, SeedInfo, seed
from suite.measure.runtime import MongoEndpoint, Runtime, Server
from suite.measure.verify import check_interpreter, check_reads, verify, wait_ready
from suite.record import documents
from suite.record.catalog import DEFAULT_MAX_CONNECTIONS, Variant
from suite.record.results import VerificationCheck

# A scenario's own check of a started server (e.g. the writes' POST /items).
Check = Callable[[Server], VerificationCheck]


def database_up(stack: ExitStack, runtime: Runtime, mongo_url: str | None, database: str,
                log_path: Path, test_commands: bool = False
                ) -> tuple[MongoEndpoint, SeedInfo]:
    """The run's MongoDB, --mongo-url's server as it is or one the runtime starts and the
    stack stops, with its documents seeded in `database`."""
    if mongo_url:
        endpoint = MongoEndpoint(url=mongo_url, embedded=False)
    else:
        endpoint = stack.enter_context(runtime.mongo(log_path, test_commands=test_commands))
    return endpoint, seed(endpoint.url, database)


def start_verified(runtime: Runtime, variant: Variant, settings: dict, *, mongo_url: str,
                   database: str, port: int, log_path: Path, ready_timeout_s: float,
                   reads: tuple[str, ...] = documents.DOCUMENT_NAMES,
                   checks: Sequence[Check] = (),
                   max_connections: int = DEFAULT_MAX_CONNECTIONS,
                   counter: OpCounter | None = None,
                   ) -> tuple[Server, list[VerificationCheck], dict | None]:
    """Start a variant (or its instances and nginx in front, for a deployment), wait until it
    answers /health, verify it (the documents `reads`, and with `counter`, that every read runs
    a find in MongoDB; then the scenarios' own `checks`), through the balancer if there is one,
    and last, the interpreter it runs on (returned as the server reported it);
    the caller stops the server (also when a check failed). Raises ServerFailed when it does
    not start or become ready."""
    if variant.balancer:
        server = start_deployment(runtime, variant, settings, mongo_url=mongo_url,
                                  database=database, port=port, log_dir=log_path.parent,
                                  max_connections=max_connections,
                                  ready_timeout_s=ready_timeout_s)
    else:
        server = runtime.start_server(variant, settings, mongo_url=mongo_url,
                                      database=database, port=port, log_path=log_path)
    try:
        wait_ready(server, ready_timeout_s)
        verified = verify(server, reads)
        if counter is not None and reads:
            check = check_reads(server, counter, reads)
            verified += [check] if check is not None else []
        verified += [check(server) for check in checks]
        interpreter_check, interpreter = check_interpreter(server, variant)
        return server, [*verified, interpreter_check], interpreter
    except BaseException:
        server.stop()
        raise
