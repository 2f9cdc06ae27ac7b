"""Django over WSGI: plain `def` views with blocking pymongo, served by gunicorn (gthread).

This module is both the URLconf (settings.ROOT_URLCONF) and the WSGI entry point
(`gunicorn servers.django.sync_app:application`). One MongoClient per worker process, created on
first use, so it is always made after gunicorn forks; the worker's threads share it.
"""

import os
import threading

import orjson
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_safe
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from servers import common

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servers.django.settings")

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
    payload = orjson.dumps(body)
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


@require_safe
def plain(request):
    return json_response(common.PLAIN)


@require_safe
def health(request):
    return json_response({"status": "ok"})


urlpatterns = [
    path("small", document, {"name": "small"}),
    path("large", document, {"name": "large"}),
    path("plain", plain),
    path("health", health),
]

application = get_wsgi_application()
