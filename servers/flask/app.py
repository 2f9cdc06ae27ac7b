"""Flask: a plain WSGI app, served by gunicorn (sync, gthread, gevent) or Flask's own server.

One MongoClient per worker process, created on first use, so it is always made after gunicorn
forks. Under the gevent worker, gunicorn monkey-patches before this module is imported and the
same blocking pymongo code runs on greenlets. POST /items inserts the body's JSON object with a
blocking insert_one.
"""

import threading

from flask import Flask, Response, request
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from servers import common

app = Flask(__name__)
_lock = threading.Lock()
_collection = None
_items = None


def _connect():
    """Both collections, on one client, made by the first request that needs either."""
    global _collection, _items
    with _lock:
        if _collection is None:
            database = MongoClient(common.MONGO_URL, **common.client_options())[common.DATABASE]
            _items = database[common.WRITE_COLLECTION].with_options(
                write_concern=common.write_concern())
            _collection = database[common.COLLECTION]


def documents():
    if _collection is None:
        _connect()
    return _collection


def items():
    if _collection is None:
        _connect()
    return _items


def json_response(body, status=200):
    return Response(common.dumps(body), status=status, mimetype="application/json")


@app.get("/<any(small, large):name>")
def document(name):
    try:
        doc = documents().find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


@app.post("/items")
def create_item():
    # The raw bytes, not request.get_json(): that would apply Flask's own rules (415 without a
    # JSON Content-Type, its own error for bad JSON), and parse_item alone decides what is taken.
    item = common.parse_item(request.get_data(cache=False))
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = items().insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


@app.get("/plain")
def plain():
    return json_response(common.PLAIN)


@app.get("/health")
def health():
    return json_response(common.health())
