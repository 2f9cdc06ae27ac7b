"""Django over WSGI: plain `def` views with blocking pymongo, served by gunicorn (gthread).

This module is both the URLconf (settings.ROOT_URLCONF) and the WSGI entry point
(`gunicorn servers.django.sync_app:application`). One MongoClient per worker process, created on
first use, so it is always made after gunicorn forks; the worker's threads share it.
POST /items reads request.body and inserts it with a blocking insert_one.
"""

import os
import threading

from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST, require_safe
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from servers import common

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servers.django.settings")

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
    payload = common.dumps(body)
    # Django sets Content-Length only in CommonMiddleware; without it every reply is chunked.
    return HttpResponse(payload, status=status, content_type="application/json",
                        headers={"Content-Length": str(len(payload))})


@require_safe
def document(request, name):
    try:
        doc = documents().find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


# No csrf_exempt needed: settings.MIDDLEWARE is empty, so CsrfViewMiddleware never runs.
@require_POST
def create_item(request):
    item = common.parse_item(request.body)
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = items().insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


@require_safe
def plain(request):
    return json_response(common.PLAIN)


@require_safe
def health(request):
    return json_response(common.health())


urlpatterns = [
    path("small", document, {"name": "small"}),
    path("large", document, {"name": "large"}),
    path("items", create_item),
    path("plain", plain),
    path("health", health),
]

application = get_wsgi_application()
