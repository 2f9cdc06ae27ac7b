"""What every server shares: where MongoDB is and how long to wait for it. Nothing else.

The suite passes settings as BATTLE_* environment variables (see suite/runtime/local.py), so a
server can also be started by hand: `BATTLE_MONGO_URL=mongodb://127.0.0.1:27017 gunicorn ...`.
"""

import os

MONGO_URL = os.environ.get("BATTLE_MONGO_URL", "mongodb://127.0.0.1:27017")
DATABASE = os.environ.get("BATTLE_MONGO_DB", "battle")
COLLECTION = "documents"
DOCUMENT_NAMES = ("small", "large")
PLAIN = {"message": "Hello, World!"}

NOT_FOUND = {"error": "document not found"}
UNAVAILABLE = {"error": "database unavailable"}


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
