"""No framework: one ASGI callable and PyMongo's async client. The ceiling for Python ASGI:
whatever a framework adds on top of this is the framework's cost."""

import orjson
from pymongo.errors import ConnectionFailure

from servers import common

documents = None  # set at lifespan startup, in the worker's own event loop


async def lifespan(receive, send):
    global documents
    client = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            client = common.async_client()
            documents = client[common.DATABASE][common.COLLECTION]
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if client is not None:
                await common.close_async_client(client)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def fetch(name):
    try:
        doc = await documents.find_one({"_id": name}, {"_id": 0})
    except ConnectionFailure:
        return 503, common.UNAVAILABLE
    if doc is None:
        return 404, common.NOT_FOUND
    return 200, doc


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    path = scope["path"]
    if path in ("/small", "/large"):
        status, body = await fetch(path[1:])
    elif path == "/plain":
        status, body = 200, common.PLAIN
    elif path == "/health":
        status, body = 200, {"status": "ok"}
    else:
        status, body = 404, {"error": "no such route"}
    payload = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
