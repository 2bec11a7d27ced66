"""The console's live stream (SSE): pushed signals (danger, withdrawal) go out while the alarm
table's poll is slow."""

from __future__ import annotations

import asyncio
import time


class _Req:
    headers: dict = {}
    query_params: dict = {}
    cookies: dict = {}

    async def is_disconnected(self) -> bool:
        return False


def test_a_slow_poll_does_not_starve_pushed_danger_signals(monkeypatch):
    """The poll takes over a second (a loaded database): the wait for the hub got timeout 0,
    which never takes a queued message, so a danger signal was never forwarded."""
    from qorgau.alarms import live
    from qorgau.alarms.notify import HUB
    from qorgau.core.security import SYSTEM_ACTOR

    def slow(*_a, **_k):
        time.sleep(1.1)
        return []

    monkeypatch.setattr(live, "_batch", slow)
    site = 987_654

    async def run() -> bytes:
        gen = live.events(_Req(), SYSTEM_ACTOR, site, max_s=3.5)
        out = [await gen.__anext__()]  # subscribed
        HUB.publish(site, {"type": "danger", "region_code": None, "enterprise_id": None})
        out += [chunk async for chunk in gen]
        return b"".join(out)

    body = asyncio.run(run())
    assert b"event: danger" in body, body
    assert b": keep-alive" in body
