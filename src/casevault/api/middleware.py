"""ASGI middleware: request ids, body-size limits, security headers and a PII-free access log."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ConcurrencyLimitMiddleware", "RequestContextMiddleware"]

log = logging.getLogger("casevault.access")

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class BodyTooLarge(Exception):
    """Raised while reading a request body that exceeds the configured limit."""


class RequestContextMiddleware:
    """Gives each request an id, enforces the body limit, adds headers, logs route templates (no query)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500}

        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _reject_too_large(send, request_id)
            self._log(scope, 413, request_id, started)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in _SECURITY_HEADERS if k not in present)
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await _reject_too_large(send, request_id)
            status_holder["status"] = 413
        finally:
            self._log(scope, status_holder["status"], request_id, started)

    @staticmethod
    def _log(scope: Scope, status: int, request_id: str, started: float) -> None:
        route = scope.get("route")
        # The route template (/cases/{number}), never the raw path or query: they can carry emails.
        path = getattr(route, "path", None) or "<unmatched>"
        log.info(
            "%s %s %s %.1fms request_id=%s",
            scope.get("method"),
            path,
            status,
            (time.perf_counter() - started) * 1000,
            request_id,
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject_too_large(send: Send, request_id: str) -> None:
    body = (
        b'{"error":{"code":"too_large","message":"request body too large","request_id":"'
        + request_id.encode("ascii")
        + b'"}}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"x-request-id", request_id.encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ConcurrencyLimitMiddleware:
    """Admits at most `limit` requests at once; the rest wait in line, then get 503 after `queue_timeout` s.

    Sync routes run in a 40-thread pool (API routes commit in the same pool call). Without a limit,
    a burst of writers can take every thread while the lock holders wait for one to commit in: a stall until
    the database pool times out. Keeping `limit` below both the thread pool and the database pool rules it out.
    """

    def __init__(self, app: ASGIApp, *, limit: int, queue_timeout: float) -> None:
        self.app = app
        self.queue_timeout = queue_timeout
        self._slots = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout=self.queue_timeout)
            except TimeoutError:
                await _reject_busy(send)
                return
        else:
            # A free slot: no timeout task and timer to create and cancel (~0.7 % of the server's CPU in wait_for).
            await self._slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


async def _reject_busy(send: Send) -> None:
    body = b'{"error":{"code":"busy","message":"server busy, retry shortly"}}'
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"retry-after", b"1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
