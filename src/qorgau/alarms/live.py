"""Live console feed (SSE) and the embedded scheduler tick.

The stream reads alarm transitions from the database after a cursor (so it works whichever
process raised the alarm and loses nothing across reconnects: Last-Event-ID), and wakes at
once when this process's hub publishes — life-safety alarms reach the console right after the
commit instead of on the next poll (1 s). Withdrawal progress and danger signals
(`ingest/sentinel.py`, ahead of the alarm record) are forwarded from the hub as they come,
to callers whose scope covers the site."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar

import orjson
from fastapi import Request
from sqlalchemy import func, select

from qorgau.alarms import texts
from qorgau.alarms.models import SCOPE, AlarmEvent, AlarmRecord
from qorgau.alarms.notify import HUB
from qorgau.core.db import get_sessionmaker
from qorgau.core.middleware import pick_language
from qorgau.core.security import Actor, ScopeSpec, in_scope, scoped


def _batch(actor: Actor, site_id: int | None, after: int, lang: str = "ru") -> list[dict]:
    with get_sessionmaker()() as db:
        if after < 0:
            after = int(db.scalar(select(func.coalesce(func.max(AlarmEvent.id), 0))) or 0) - 50
        stmt = scoped(select(AlarmEvent, AlarmRecord).join(
            AlarmRecord, AlarmRecord.id == AlarmEvent.alarm_id), AlarmRecord, actor)
        stmt = stmt.where(AlarmEvent.id > after)
        if site_id is not None:
            stmt = stmt.where(AlarmRecord.site_id == site_id)
        rows = db.execute(stmt.order_by(AlarmEvent.id).limit(200)).all()
        return [{"event_id": e.id, "alarm_id": r.id, "site_id": r.site_id, "kind": r.kind,
                 "zone": r.zone_code, "priority": r.priority, "life_safety": r.life_safety,
                 "frm": e.frm, "to": e.to, "trigger": e.trigger, "actor": e.actor,
                 "at": e.at.isoformat(), "message": r.message, "value": r.value,
                 "tier": r.tier, "text": texts.line(texts.fields(r), lang)}
                for e, r in rows]


_PUSHED = frozenset({"withdrawal", "danger"})  # hub messages forwarded as they are


@dataclass(frozen=True, slots=True)
class _Scope:
    """A hub message's scope columns, checked with the alarm tables' rule."""

    __scope__: ClassVar[ScopeSpec] = SCOPE
    region_code: str | None
    enterprise_id: int | None


def visible(msg: dict, actor: Actor) -> bool:
    """Hub messages carry their site's enterprise and region: a console subscribed to every
    site sees only those in its caller's scope."""
    return in_scope(_Scope(msg.get("region_code"), msg.get("enterprise_id")), actor)


async def events(request: Request, actor: Actor, site_id: int | None,
                 max_s: float | None = None) -> AsyncIterator[bytes]:
    last = request.headers.get("last-event-id")
    cursor = int(last) if last and last.isdigit() else -1
    q = HUB.subscribe(site_id)
    end = time.monotonic() + max_s if max_s else float("inf")
    lang = pick_language(request)  # each subscriber's texts in its own language
    # A keep-alive after every quiet second, by the clock: a hub wake-up from a site outside
    # the scope sends nothing and must not change what is sent (it swallowed the keep-alive,
    # so the cadence told another tenant's alarm activity).
    said = time.monotonic()
    try:
        yield b"retry: 2000\n\n"
        while time.monotonic() < end:
            rows = await asyncio.to_thread(_batch, actor, site_id, cursor, lang)
            for row in rows:
                cursor = row["event_id"]
                kind = "lifesafety" if row["life_safety"] and row["to"] == "unacknowledged" \
                    else "alarm"
                yield (f"id: {cursor}\nevent: {kind}\ndata: ".encode() + orjson.dumps(row)
                       + b"\n\n")
                said = time.monotonic()
            if cursor < 0:
                cursor = 0
            msgs = []
            while not q.empty():  # queued ones now: wait_for with timeout 0 takes none
                msgs.append(q.get_nowait())
            if not msgs:
                with contextlib.suppress(TimeoutError):
                    msgs.append(await asyncio.wait_for(q.get(), timeout=max(
                        0.0, said + 1.0 - time.monotonic())))
            for msg in msgs:
                kind = msg.get("type")
                if kind in _PUSHED and visible(msg, actor):
                    yield f"event: {kind}\ndata: ".encode() + orjson.dumps(msg) + b"\n\n"
                    said = time.monotonic()
            if time.monotonic() - said >= 1.0:
                yield b": keep-alive\n\n"
                said = time.monotonic()
            if await request.is_disconnected():
                break
    finally:
        HUB.unsubscribe(q)
