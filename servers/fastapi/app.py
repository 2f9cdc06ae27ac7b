"""FastAPI with async endpoints and an async Mongo driver (PyMongo Async or Motor).

Served by uvicorn, gunicorn's uvicorn worker, gunicorn's own asgi worker or granian: the app is
the same, the catalog says which server runs it. The client is created in the lifespan handler,
inside the event loop that uses it, once per worker process. Bodies are encoded with orjson (common.dumps) into
a plain Response: FastAPI's jsonable_encoder would cost more than the framework on /large.
POST /items reads the raw body and awaits insert_one on the same driver.
"""

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from pymongo.errors import ConnectionFailure

from servers import common


@asynccontextmanager
async def lifespan(app: FastAPI):
    client = common.async_client()
    app.state.documents = client[common.DATABASE][common.COLLECTION]
    app.state.items = client[common.DATABASE][common.WRITE_COLLECTION].with_options(
        write_concern=common.write_concern())
    yield
    await common.close_async_client(client)


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def json_response(body, status_code=200) -> Response:
    return Response(common.dumps(body), status_code=status_code, media_type="application/json")


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


@app.post("/items")
async def create_item(request: Request) -> Response:
    # The raw body, not a pydantic model: parse_item alone decides what is accepted, the same
    # in every server, and a refused body gets BAD_ITEM rather than FastAPI's 422.
    item = common.parse_item(await request.body())
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = await request.app.state.items.insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


@app.get("/plain")
async def plain() -> Response:
    return json_response(common.PLAIN)


@app.get("/health")
async def health() -> Response:
    return json_response(common.health())
