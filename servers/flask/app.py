"""Flask: a plain WSGI app, served by gunicorn (sync, gthread, gevent) or Flask's own server.

One MongoClient per worker process, created on first use, so it is always made after gunicorn
forks. Under the gevent worker, gunicorn monkey-patches before this module is imported and the
same blocking pymongo code runs on greenlets.
"""

import threading

import orjson
from flask import Flask, Response
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from servers import common

app = Flask(__name__)
_lock = threading.Lock()
_collection = None


def documents():
    global _collection
    if _collection is None:
        with _lock:
            if _collection is None:
                client = MongoClient(common.MONGO_URL, **common.client_options())
                _collection = client[common.DATABASE][common.COLLECTION]
    return _collection


def json_response(body, status=200):
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@app.get("/<any(small, large):name>")
def document(name):
    try:
        doc = documents().find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


@app.get("/plain")
def plain():
    return json_response(common.PLAIN)


@app.get("/health")
def health():
    return json_response({"status": "ok"})
