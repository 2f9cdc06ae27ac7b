"""The server contract, checked for real against every variant in the catalog.

Each variant gets its own mongod, so the last check can stop it: with MongoDB gone, a document
request must answer 503 (JSON) within a bounded time, never hang. Adding a variant to the
catalog adds a case here; there is nothing to copy.
"""

import json
import time

import pytest
from pymongo import MongoClient

from suite.record import documents
from suite.record.catalog import load_catalog
from suite.measure.http import get, post
from suite.measure.mongo import DEFAULT_DATABASE, EmbeddedMongo, seed
from suite.measure.procs import group_members
from servers import common
from suite.measure.scenarios import check_write
from suite.measure.verify import check_interpreter, verify, wait_ready
from tests.conftest import start_variant

CATALOG = load_catalog()
UNAVAILABLE_WITHIN_S = 10  # 2 s server selection + a socket timeout, with margin


def is_json(response) -> bool:
    return response.content_type.split(";")[0].strip() == "application/json"


@pytest.mark.integration
@pytest.mark.parametrize("name", list(CATALOG))
def test_contract(name, tmp_path):
    with EmbeddedMongo(tmp_path / "mongod.log") as mongod:
        seed(mongod.url)
        server = start_variant(name, mongod.url, tmp_path / "server.log")
        try:
            wait_ready(server, 60)
            # Status, content type and the exact bytes of each document, and /plain.
            checks = verify(server)
            assert all(check.passed for check in checks), checks
            # The interpreter as the server reports it: the build and GIL state the catalog
            # asks for (free-threaded rows without the GIL, their twins and the rest with it).
            check, said = check_interpreter(server, CATALOG[name])
            assert check.passed, check.detail
            if CATALOG[name].python:
                assert said["gil"] is CATALOG[name].gil
            else:   # Node.js, Java, Rust: the implementation, its version and the driver
                assert said["implementation"] in check.detail and said["driver"]
            expected = documents.expected_bodies()
            for doc in documents.DOCUMENT_NAMES:  # the same bytes on a second, reused path
                assert get(server.host, server.port, f"/{doc}").body == expected[doc]

            # POST /items: inserted as posted, 201 with the id; anything else 400, no insert.
            items = MongoClient(mongod.url)[DEFAULT_DATABASE][common.WRITE_COLLECTION]
            write = check_write(server, items)
            assert write.passed, write.detail

            # A missing document: 404 with a JSON error.
            collection = MongoClient(mongod.url)[DEFAULT_DATABASE][documents.COLLECTION]
            collection.delete_one({"_id": "small"})
            missing = get(server.host, server.port, "/small")
            assert missing.status == 404 and is_json(missing)
            assert "error" in json.loads(missing.body)
            seed(mongod.url)
            assert get(server.host, server.port, "/small").status == 200

            # MongoDB gone: 503 with a JSON error, in bounded time, and the server survives.
            mongod.stop()
            started = time.monotonic()
            gone = post(server.host, server.port, "/items", b'{"key": "gone"}',
                        timeout=UNAVAILABLE_WITHIN_S + 5)
            assert time.monotonic() - started < UNAVAILABLE_WITHIN_S
            assert gone.status == 503 and is_json(gone), (gone.status, gone.body[:200])
            for _ in range(2):  # a pooled connection breaks first, then server selection fails
                started = time.monotonic()
                gone = get(server.host, server.port, "/large", timeout=UNAVAILABLE_WITHIN_S + 5)
                assert time.monotonic() - started < UNAVAILABLE_WITHIN_S
                assert gone.status == 503 and is_json(gone), (gone.status, gone.body[:200])
                assert "error" in json.loads(gone.body)
            assert get(server.host, server.port, "/plain").status == 200
            assert server.alive()
        finally:
            server.stop()
    assert not group_members(server.child.pid)
    log = (tmp_path / "server.log").read_text()
    assert "GET /small" not in log and "/large" not in log and "/items" not in log, \
        "access log is on: " + log[-300:]
