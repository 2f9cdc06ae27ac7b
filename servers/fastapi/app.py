"""FastAPI with async endpoints and an async Mongo driver (PyMongo Async or Motor).

Served by uvicorn, gunicorn's uvicorn worker, gunicorn's own asgi worker or granian: the app is
the same, the catalog says which server runs it. The client is created in the lifespan handler,
inside the event loop that uses it, once per worker process. Bodies are encoded with orjson into
a plain Response: FastAPI's jsonable_encoder would cost more than the framework on /large.
"""

from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request, Response
from pymongo.errors import ConnectionFailure

from servers import common


@asynccontextmanager
async def lifespan(app: FastAPI):
    client = common.async_client()
    app.state.documents = client[common.DATABASE][common.COLLECTION]
    yield
    await common.close_async_client(client)


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def json_response(body, status_code=200) -> Response:
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


async def fetch(request: Request, name: str) -> Response:
    try:
        doc = await request.app.state.documents.find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


@app.get("/small")
async def small(request: Request) -> Response:
    return await fetch(request, "small")


@app.get("/large")
async def large(request: Request) -> Response:
    return await fetch(request, "large")


@app.get("/plain")
async def plain() -> Response:
    return json_response(common.PLAIN)


@app.get("/health")
async def health() -> Response:
    return json_response({"status": "ok"})
