"""A minimal HTTP/1.1 GET for readiness and verification (the load itself is wrk's job)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


def get(host: str, port: int, path: str, timeout: float = 5.0) -> Response:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        reply = connection.getresponse()
        return Response(reply.status, reply.getheader("Content-Type", ""), reply.read())
    finally:
        connection.close()
