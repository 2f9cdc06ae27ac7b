"""Starlette without FastAPI: a Route list, async endpoints, PyMongo's async client.

The toolkit FastAPI is built on, with no dependency injection, validation or OpenAPI: the gap
to fastapi-uvicorn is what FastAPI adds, the gap to asgi-uvicorn what Starlette adds. The client
is created in the lifespan handler, inside the event loop that uses it, once per worker process.
"""

from contextlib import asynccontextmanager

import orjson
from pymongo.errors import ConnectionFailure
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from servers import common


@asynccontextmanager
async def lifespan(app: Starlette):
    client = common.async_client()
    app.state.documents = client[common.DATABASE][common.COLLECTION]
    yield
    await common.close_async_client(client)


def json_response(body, status_code=200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


async def fetch(request, name: str) -> Response:
    try:
        doc = await request.app.state.documents.find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


async def small(request) -> Response:
    return await fetch(request, "small")


async def large(request) -> Response:
    return await fetch(request, "large")


async def plain(request) -> Response:
    return json_response(common.PLAIN)


async def health(request) -> Response:
    return json_response({"status": "ok"})


app = Starlette(lifespan=lifespan, routes=[
    Route("/small", small, methods=["GET"]),
    Route("/large", large, methods=["GET"]),
    Route("/plain", plain, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
])
