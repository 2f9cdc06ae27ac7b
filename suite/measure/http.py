"""A minimal HTTP/1.1 client for readiness and verification (the load itself is wrk's job)."""

from __future__ import annotations

import http.client
from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes


def request(method: str, host: str, port: int, path: str, body: bytes | None = None,
            timeout: float = 5.0) -> Response:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        reply = connection.getresponse()
        return Response(reply.status, reply.getheader("Content-Type", ""), reply.read())
    finally:
        connection.close()


def get(host: str, port: int, path: str, timeout: float = 5.0) -> Response:
    return request("GET", host, port, path, timeout=timeout)


def post(host: str, port: int, path: str, body: bytes, timeout: float = 5.0) -> Response:
    return request("POST", host, port, path, body, timeout=timeout)
