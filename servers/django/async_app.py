"""Django over ASGI: `async def` views with PyMongo's native async client, served by uvicorn.

This module is both the URLconf (async_settings.ROOT_URLCONF) and the ASGI entry point
(`uvicorn servers.django.async_app:application`). With no middleware, Django awaits the views
directly in the server's event loop: no thread hand-off on the request path. POST /items
reads request.body (the handler has already read it) and awaits insert_one.
"""

import os

from django.core.asgi import get_asgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.http import require_POST, require_safe
from pymongo.errors import ConnectionFailure

from servers import common

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servers.django.async_settings")

_collection = None
_items = None


def _connect():
    """Both collections, on a client created by the first request of this worker process.

    An AsyncMongoClient belongs to the event loop it is created in, and Django's ASGI handler
    has no lifespan hook (it refuses the lifespan scope), so the first request, already running
    in the worker's loop, creates it. No lock: creating the client does not await, so no other
    request can run between the check and the assignment. uvicorn starts each worker as a fresh
    (spawned) process that imports the app and runs its own loop: each gets its own client.
    """
    global _collection, _items
    database = common.async_client()[common.DATABASE]
    _items = database[common.WRITE_COLLECTION].with_options(write_concern=common.write_concern())
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
async def document(request, name):
    try:
        doc = await documents().find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


# No csrf_exempt needed: settings.MIDDLEWARE is empty, so CsrfViewMiddleware never runs.
@require_POST
async def create_item(request):
    item = common.parse_item(request.body)
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = await items().insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


@require_safe
async def plain(request):
    return json_response(common.PLAIN)


@require_safe
async def health(request):
    return json_response(common.health())


urlpatterns = [
    path("small", document, {"name": "small"}),
    path("large", document, {"name": "large"}),
    path("items", create_item),
    path("plain", plain),
    path("health", health),
]

application = get_asgi_application()
