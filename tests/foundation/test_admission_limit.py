"""The admission limit: free slots admit at once, a full house queues, and the queue turns into 503 + Retry-After."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from casevault.api.middleware import ConcurrencyLimitMiddleware


class _HeldApp:
    """An ASGI app that answers 200 once `release` is set; counts the requests it was given."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.entered += 1
        self.started.set()
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _call(app: Any) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def _one_slot_taken(queue_timeout: float) -> tuple[_HeldApp, Any, asyncio.Task[Any]]:
    """A limit of one request, and a first request holding the slot until `release` is set."""
    inner = _HeldApp()
    app = ConcurrencyLimitMiddleware(inner, limit=1, queue_timeout=queue_timeout)
    first = asyncio.create_task(_call(app))
    await inner.started.wait()
    return inner, app, first


def test_full_house_queues_then_sheds_with_503() -> None:
    async def scenario() -> None:
        inner, app, first = await _one_slot_taken(queue_timeout=0.05)
        status, headers, body = await _call(app)  # the one slot is taken: waits out the queue timeout
        assert status == 503
        assert headers[b"retry-after"] == b"1"
        assert json.loads(body)["error"]["code"] == "busy"
        assert inner.entered == 1  # never reached the app
        inner.release.set()
        assert (await first)[0] == 200
        assert (await _call(app))[0] == 200  # the slot was given back

    asyncio.run(scenario())


def test_queued_request_is_admitted_when_a_slot_frees() -> None:
    async def scenario() -> None:
        inner, app, first = await _one_slot_taken(queue_timeout=30)
        second = asyncio.create_task(_call(app))
        for _ in range(10):
            await asyncio.sleep(0)
        assert inner.entered == 1  # the second waits in line
        inner.release.set()
        assert [(await first)[0], (await second)[0]] == [200, 200]
        assert inner.entered == 2

    asyncio.run(scenario())
