"""aiohttp: its own HTTP server and routing, PyMongo's async client, served by gunicorn's
aiohttp worker (one process per CPU, uvloop). POST /items reads the raw body and awaits
insert_one on the same client."""

from aiohttp import web
from pymongo.errors import ConnectionFailure

from servers import common

DOCUMENTS = web.AppKey("documents")
ITEMS = web.AppKey("items")


def json_response(body, status=200):
    return web.Response(body=common.dumps(body), status=status, content_type="application/json")


async def mongo_client(app):
    client = common.async_client()  # created in the worker's loop, after gunicorn forks
    app[DOCUMENTS] = client[common.DATABASE][common.COLLECTION]
    app[ITEMS] = client[common.DATABASE][common.WRITE_COLLECTION].with_options(
        write_concern=common.write_concern())
    yield
    await common.close_async_client(client)


async def document(request):
    try:
        doc = await request.app[DOCUMENTS].find_one({"_id": request.match_info["name"]},
                                                    {"_id": 0})
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    if doc is None:
        return json_response(common.NOT_FOUND, 404)
    return json_response(doc)


async def create_item(request):
    item = common.parse_item(await request.read())
    if item is None:
        return json_response(common.BAD_ITEM, 400)
    try:
        result = await request.app[ITEMS].insert_one(item)
    except ConnectionFailure:
        return json_response(common.UNAVAILABLE, 503)
    return json_response(common.created(result.inserted_id), 201)


async def plain(request):
    return json_response(common.PLAIN)


async def health(request):
    return json_response(common.health())


app = web.Application()
app.cleanup_ctx.append(mongo_client)
app.router.add_get("/{name:small|large}", document)
app.router.add_post("/items", create_item)
app.router.add_get("/plain", plain)
app.router.add_get("/health", health)
