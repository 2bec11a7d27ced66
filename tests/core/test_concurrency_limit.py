"""Admission control: at most N requests at once per process; the next one waits on the event
loop (no thread, no connection) and gets a clear 503 if its wait runs out. Event streams are
not counted. Together with the pool and thread sizes this keeps the process from stalling."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from qorgau.core.config import get_settings
from qorgau.core.db import pool_capacity
from qorgau.core.middleware import ConcurrencyLimitMiddleware


@pytest.fixture
def limited(monkeypatch):
    s = get_settings()
    monkeypatch.setattr(s, "max_concurrent_requests", 1)
    monkeypatch.setattr(s, "queue_wait_seconds", 0.3)
    release = asyncio.Event()

    async def app(scope, receive, send):
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return ConcurrencyLimitMiddleware(app), release


async def _get(app, path):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        return await c.get(path)


def test_waiting_request_gets_503_then_slots_free_again(limited) -> None:
    app, release = limited

    async def scenario():
        slow = asyncio.create_task(_get(app, "/slow"))
        await asyncio.sleep(0.05)
        busy = await _get(app, "/api/v1/x")  # the only slot is taken
        stream = await _get(app, "/api/v1/alarms/stream")  # streams are not counted
        release.set()
        done = await slow
        after = await _get(app, "/api/v1/x")
        return busy, stream, done, after

    busy, stream, done, after = asyncio.run(scenario())
    assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
    assert busy.json()["detail"][0]["type"] == "busy"
    assert stream.status_code == 200 and done.status_code == 200 and after.status_code == 200


def test_pool_has_room_for_every_admitted_request() -> None:
    size, overflow = pool_capacity()
    assert size + overflow > get_settings().max_concurrent_requests
