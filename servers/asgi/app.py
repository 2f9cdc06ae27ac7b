"""No framework: one ASGI callable and PyMongo's async client. The ceiling for Python ASGI:
whatever a framework adds on top of this is the framework's cost. POST /items collects the body
from the receive channel and awaits insert_one."""

from pymongo.errors import ConnectionFailure

from servers import common

documents = items = None  # set at lifespan startup, in the worker's own event loop


async def lifespan(receive, send):
    global documents, items
    client = None
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            client = common.async_client()
            documents = client[common.DATABASE][common.COLLECTION]
            items = client[common.DATABASE][common.WRITE_COLLECTION].with_options(
                write_concern=common.write_concern())
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


async def read_body(receive):
    """The request body, from as many http.request messages as it takes; None if the client
    disconnected first (then there is nobody to answer)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def create_item(receive):
    body = await read_body(receive)
    if body is None:
        return None, None
    item = common.parse_item(body)
    if item is None:
        return 400, common.BAD_ITEM
    try:
        result = await items.insert_one(item)
    except ConnectionFailure:
        return 503, common.UNAVAILABLE
    return 201, common.created(result.inserted_id)


async def method_not_allowed(send, allow: bytes):
    # Apart from the GET hot path, so the 405's Allow header costs the reads nothing.
    payload = common.dumps({"error": "method not allowed"})
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode()), (b"allow", allow)]
    await send({"type": "http.response.start", "status": 405, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    path = scope["path"]
    if path in ("/small", "/large"):
        status, body = await fetch(path[1:])
    elif path == "/items":
        if scope["method"] != "POST":
            return await method_not_allowed(send, b"POST")
        status, body = await create_item(receive)
        if status is None:
            return
    elif path == "/plain":
        status, body = 200, common.PLAIN
    elif path == "/health":
        status, body = 200, common.health()
    else:
        status, body = 404, {"error": "no such route"}
    payload = common.dumps(body)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
