"""Starlette without FastAPI: a Route list, async endpoints, PyMongo's async client.

The toolkit FastAPI is built on, with no dependency injection, validation or OpenAPI: the gap
to fastapi-uvicorn is what FastAPI adds, the gap to asgi-uvicorn what Starlette adds. The client
is created in the lifespan handler, inside the event loop that uses it, once per worker process.
POST /items reads the raw body and awaits insert_one on the same client.
"""

from contextlib import asynccontextmanager

from pymongo.errors import ConnectionFailure
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from servers import common


@asynccontextmanager
async def lifespan(app: Starlette):
    client = common.async_client()
    app.state.documents = client[common.DATABASE][common.COLLECTION]
    app.state.items = client[common.DATABASE][common.WRITE_COLLECTION].with_options(
        write_concern=common.write_concern())
    yield
    await common.close_async_client(client)


def json_response(body, status_code=200) -> Response:
    return Response(common.dumps(body), status_code=status_code, media_type="application/json")


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


async def create_item(request) -> Response:
    item = common.parse_item(await request.body())
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = await request.app.state.items.insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


async def plain(request) -> Response:
    return json_response(common.PLAIN)


async def health(request) -> Response:
    return json_response(common.health())


app = Starlette(lifespan=lifespan, routes=[
    Route("/small", small, methods=["GET"]),
    Route("/large", large, methods=["GET"]),
    Route("/items", create_item, methods=["POST"]),
    Route("/plain", plain, methods=["GET"]),
    Route("/health", health, methods=["GET"]),
])
