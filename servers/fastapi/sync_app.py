"""FastAPI with plain `def` endpoints: each request runs on anyio's thread pool with blocking
pymongo. The pool is raised from anyio's default of 40 threads to the catalog's `threads`.
POST /items: the body is read in the event loop, the blocking insert_one runs on the pool."""

import os
from contextlib import asynccontextmanager
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, FastAPI, Request, Response
from pymongo import MongoClient
from pymongo.errors import ConnectionFailure

from servers import common


@asynccontextmanager
async def lifespan(app: FastAPI):
    to_thread.current_default_thread_limiter().total_tokens = int(os.environ["BATTLE_THREADS"])
    client = MongoClient(common.MONGO_URL, **common.client_options())
    app.state.documents = client[common.DATABASE][common.COLLECTION]
    app.state.items = client[common.DATABASE][common.WRITE_COLLECTION].with_options(
        write_concern=common.write_concern())
    yield
    client.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def json_response(body, status_code=200) -> Response:
    return Response(common.dumps(body), status_code=status_code, media_type="application/json")


def fetch(request: Request, name: str) -> Response:
    try:
        doc = request.app.state.documents.find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


@app.get("/small")
def small(request: Request) -> Response:
    return fetch(request, "small")


@app.get("/large")
def large(request: Request) -> Response:
    return fetch(request, "large")


async def raw_body(request: Request) -> bytes:
    # Reading the body is async in Starlette, and a `def` endpoint cannot await: an async
    # dependency reads it in the event loop, then the endpoint runs on the thread pool as the
    # others do. Raw bytes, not a pydantic model: parse_item alone decides what is accepted.
    return await request.body()


@app.post("/items")
def create_item(request: Request, body: Annotated[bytes, Depends(raw_body)]) -> Response:
    item = common.parse_item(body)
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = request.app.state.items.insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


@app.get("/plain")
def plain() -> Response:
    return json_response(common.PLAIN)


@app.get("/health")
def health() -> Response:
    return json_response(common.health())
