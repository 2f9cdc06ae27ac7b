"""Tornado: one process per CPU, forked after binding, each with its own event loop and an
async Mongo driver (PyMongo Async or Motor) created after the fork. POST /items awaits
insert_one on the same driver.

    python -m servers.tornado.app --host 127.0.0.1 --port 8000 --processes 2 --backlog 4096
"""

import argparse
import asyncio
import os
import signal

import tornado.web
from pymongo.errors import ConnectionFailure
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.process import fork_processes

from servers import common


class JSONHandler(tornado.web.RequestHandler):
    def compute_etag(self):
        return None  # Tornado hashes every body for an ETag by default; an API has no use for it

    def send_json(self, body, status=200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(common.dumps(body))


class DocumentHandler(JSONHandler):
    def initialize(self, documents):
        self.documents = documents

    async def get(self, name):
        try:
            doc = await self.documents.find_one({"_id": name}, {"_id": 0})
        except ConnectionFailure:
            return self.send_json(common.UNAVAILABLE, 503)
        if doc is None:
            return self.send_json(common.NOT_FOUND, 404)
        self.send_json(doc)


class ItemsHandler(JSONHandler):
    def initialize(self, items):
        self.items = items

    async def post(self):
        item = common.parse_item(self.request.body)
        if item is None:
            return self.send_json(common.BAD_ITEM, 400)
        try:
            result = await self.items.insert_one(item)
        except ConnectionFailure:
            return self.send_json(common.UNAVAILABLE, 503)
        self.send_json(common.created(result.inserted_id), 201)


class PlainHandler(JSONHandler):
    def get(self):
        self.send_json(common.PLAIN)


class HealthHandler(JSONHandler):
    def get(self):
        self.send_json(common.health())


async def serve(sockets):
    client = common.async_client()  # in this process's loop, after the fork
    documents = client[common.DATABASE][common.COLLECTION]
    items = client[common.DATABASE][common.WRITE_COLLECTION].with_options(
        write_concern=common.write_concern())
    app = tornado.web.Application([
        (r"/(small|large)", DocumentHandler, {"documents": documents}),
        (r"/items", ItemsHandler, {"items": items}),
        (r"/plain", PlainHandler),
        (r"/health", HealthHandler),
    ], log_function=lambda handler: None)  # no access log
    HTTPServer(app).add_sockets(sockets)
    await asyncio.Event().wait()


def stop_everyone(signum, frame):
    # fork_processes' parent waits for its children but does not pass SIGTERM on: without this,
    # stopping the parent alone would leave the workers serving.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.killpg(0, signal.SIGTERM)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--processes", type=int, default=0, help="0: one per CPU")
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args()
    sockets = bind_sockets(args.port, args.host, backlog=args.backlog)
    signal.signal(signal.SIGTERM, stop_everyone)
    fork_processes(args.processes)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # in each child: plain exit on SIGTERM
    asyncio.run(serve(sockets))


if __name__ == "__main__":
    main()
