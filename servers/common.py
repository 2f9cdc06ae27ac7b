"""What every server shares: where MongoDB is, how long to wait for it, what a write accepts,
how a body is encoded, and what /health says about the interpreter. Nothing else.

The suite passes settings as BATTLE_* environment variables (see
suite/measure/runtime/local.py), so a server can also be started by hand:
`BATTLE_MONGO_URL=mongodb://127.0.0.1:27017 gunicorn ...`.
"""

import inspect
import os
import platform
import sys
import sysconfig
import json as _stdlib_json

try:
    import orjson
except ImportError:  # the free-threaded interpreter: orjson has no free-threaded wheel
    orjson = None

MONGO_URL = os.environ.get("BATTLE_MONGO_URL", "mongodb://127.0.0.1:27017")
DRIVER = os.environ.get("BATTLE_DRIVER", "pymongo-async")  # async apps: pymongo-async | motor
DATABASE = os.environ.get("BATTLE_MONGO_DB", "battle")
COLLECTION = "documents"
PLAIN = {"message": "Hello, World!"}

# How bodies are encoded: orjson where it is installed (every default-interpreter variant), else
# the standard library with the same compact, unescaped output (byte-for-byte the same bodies,
# as verification checks). Importing orjson on a free-threaded build would switch the GIL back on.
JSON_LIBRARY = "orjson" if orjson is not None else "json"
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def dumps(value) -> bytes:
    """Compact JSON as bytes (orjson's output: no spaces, UTF-8, no ASCII escapes)."""
    if orjson is not None:
        return orjson.dumps(value)
    return _stdlib_json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads(body: bytes):
    """Parse JSON; raises ValueError (orjson's JSONDecodeError is one) on anything else."""
    return orjson.loads(body) if orjson is not None else _stdlib_json.loads(body)


def health() -> dict:
    """/health's body: ready, and the interpreter as this process runs it now. `gil` is read at
    each call: importing an extension without free-threading support switches the GIL back on
    at run time (CPython warns once, naming the module), which verification must see."""
    return {"status": "ok", "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "free_threaded": FREE_THREADED,
            "gil": sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True,
            "json": JSON_LIBRARY}


NOT_FOUND = {"error": "document not found"}
UNAVAILABLE = {"error": "database unavailable"}

# POST /items inserts the request's JSON object into this collection and answers 201 with the
# new id ({"id": "<ObjectId hex>"}); any other body gets 400 and inserts nothing.
WRITE_COLLECTION = "items"
# The write concern of those inserts, a recorded setting: "1" (the primary acknowledged it) or
# "majority" (on the suite's single mongod, the same node).
WRITE_CONCERN = os.environ.get("BATTLE_WRITE_CONCERN", "1")
BAD_ITEM = {"error": "the body must be a JSON object without _id that MongoDB can store"}
# What an item may be, so that every accepted body is one MongoDB stores (never a 500): at most
# this many bytes (a framework's own limit may answer bigger bodies first: aiohttp 413 above
# 1 MiB, Django 400 above 2.5 MB), nested at most this deep, integers within BSON's int64,
# keys without NUL bytes or a leading "$".
MAX_ITEM_BYTES = 16 * 1024
MAX_ITEM_DEPTH = 32


def write_concern():
    """WriteConcern for the items collection: `collection.with_options(write_concern=...)`."""
    from pymongo import WriteConcern

    return WriteConcern(w=int(WRITE_CONCERN) if WRITE_CONCERN.isdigit() else WRITE_CONCERN)


def parse_item(body: bytes) -> dict | None:
    """The document a POST /items body asks to insert: a JSON object without `_id` (the
    database assigns it) that MongoDB can store; None for anything else, which the server
    answers with 400."""
    if len(body) > MAX_ITEM_BYTES:
        return None
    try:
        item = loads(body)
    except ValueError:
        return None
    if not isinstance(item, dict) or "_id" in item or not _storable(item, MAX_ITEM_DEPTH):
        return None
    return item


def _storable(value, depth: int) -> bool:
    if isinstance(value, dict):
        return depth > 0 and all(
            "\0" not in key and not key.startswith("$") and _storable(v, depth - 1)
            for key, v in value.items())
    if isinstance(value, list):
        return depth > 0 and all(_storable(v, depth - 1) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -2**63 <= value < 2**63
    return True


def created(inserted_id) -> dict:
    """The 201 body: the new document's id as a string."""
    return {"id": str(inserted_id)}


def client_options() -> dict:
    """Options for every Mongo client, sync or async: a bounded wait when MongoDB is gone.

    Server selection and connect give up after 2 s, so an unreachable MongoDB turns into a
    503 instead of a hung request. The pool size per process is a catalog setting.
    """
    return {
        "maxPoolSize": int(os.environ.get("BATTLE_POOL_SIZE", "100")),
        "serverSelectionTimeoutMS": 2000,
        "connectTimeoutMS": 2000,
        "socketTimeoutMS": 5000,
    }


def async_client():
    """The async Mongo client the catalog asks for: PyMongo's native async client or Motor.

    Call it inside the event loop that will use the client, once per process. Both expose the
    same `await collection.find_one(...)`; Motor runs each operation on a thread pool
    (MOTOR_MAX_WORKERS threads), PyMongo Async on the event loop itself.
    """
    if DRIVER == "motor":
        from motor.motor_asyncio import AsyncIOMotorClient

        return AsyncIOMotorClient(MONGO_URL, **client_options())
    if DRIVER != "pymongo-async":
        raise ValueError(f"BATTLE_DRIVER={DRIVER!r}: expected pymongo-async or motor")
    from pymongo import AsyncMongoClient

    return AsyncMongoClient(MONGO_URL, **client_options())


async def close_async_client(client) -> None:
    closed = client.close()  # a coroutine for PyMongo Async, a plain call for Motor
    if inspect.isawaitable(closed):
        await closed
