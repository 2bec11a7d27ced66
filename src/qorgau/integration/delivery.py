"""Outbox delivery in named steps: plan (fan an event out to the subscriptions allowed to see
it, publish to JetStream when configured), claim (due deliveries, earliest per object only),
send (signed POSTs), settle (delivered / retry with backoff and jitter / dead letter).

At least once: a worker killed after claiming leaves claims that expire (claim_seconds) and are
sent again; receivers dedupe on the event id (X-Qorgau-Event-Id and body "id").
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from qorgau.accounts import service as accounts
from qorgau.core.config import get_settings
from qorgau.core.db import utcnow
from qorgau.core.events import OutboxEvent
from qorgau.integration.constants import integration_settings
from qorgau.integration.models import Delivery, Subscription
from qorgau.integration.signing import HEADER, sign

log = logging.getLogger("qorgau.integration.delivery")
NATIONAL_KINDS = {"ministry", "industry_ministry"}
REGIONAL_KINDS = {"inspectorate", "akimat", "emergency_ministry"}


def matches(patterns: str, event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p.strip()) for p in patterns.split(","))


def may_see(org: Any, ev: OutboxEvent) -> bool:
    """National orgs see everything, regional ones their region, enterprises their own."""
    if org is None:
        return False
    if org.enterprise_id is not None:
        return ev.enterprise_id == org.enterprise_id
    if org.kind in NATIONAL_KINDS or (org.kind == "state_system" and not org.region_code):
        return True
    if org.kind in REGIONAL_KINDS or org.kind == "state_system":
        return ev.region_code is not None and ev.region_code == org.region_code
    return ev.organisation_id == org.id


def event_body(ev: OutboxEvent) -> bytes:
    return orjson.dumps(
        {
            "id": ev.id,
            "type": ev.type,
            "object_type": ev.object_type,
            "object_id": ev.object_id,
            "region_code": ev.region_code,
            "enterprise_id": ev.enterprise_id,
            "created_at": ev.created_at.isoformat(),
            "payload": ev.payload,
        }
    )


def _is_pg(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


# --- plan ---------------------------------------------------------------------------------


def plan(db: Session, *, limit: int = 1000) -> int:
    """Fan out undispatched events; one transaction (SKIP LOCKED lets PG workers share)."""
    stmt = (
        select(OutboxEvent)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if _is_pg(db):
        stmt = stmt.with_for_update(skip_locked=True)
    events = list(db.scalars(stmt))
    if not events:
        db.rollback()
        return 0
    subs = list(db.scalars(select(Subscription).where(Subscription.active)))
    orgs = {
        s.organisation_id: accounts.get_organisation(db, organisation_id=s.organisation_id)
        for s in subs
    }
    now = utcnow()
    rows = []
    for ev in events:
        for sub in subs:
            if matches(sub.event_types, ev.type) and may_see(orgs[sub.organisation_id], ev):
                rows.append(
                    Delivery(
                        event_id=ev.id,
                        subscription_id=sub.id,
                        organisation_id=sub.organisation_id,
                        object_key=f"{ev.object_type}:{ev.object_id}"[:170],
                        status="pending",
                        next_attempt_at=now,
                        last_error="",
                    )
                )
        ev.dispatched_at = now
    db.add_all(rows)
    if integration_settings().nats_publish:
        publish_nats(events)  # raises → rollback → the events are planned again later
    db.commit()
    return len(events)


def publish_nats(events: list[OutboxEvent]) -> None:
    asyncio.run(_publish(events))


async def _publish(events: list[OutboxEvent]) -> None:
    import nats  # imported lazily: only when JetStream publishing is configured

    s = integration_settings()
    nc = await nats.connect(get_settings().nats_url, connect_timeout=3)
    try:
        js = nc.jetstream()
        await js.add_stream(name=s.nats_stream, subjects=[f"{s.nats_subject_prefix}.>"])
        for ev in events:
            # Nats-Msg-Id makes JetStream drop a duplicate publish of the same event.
            await js.publish(
                f"{s.nats_subject_prefix}.{ev.type}",
                event_body(ev),
                headers={"Nats-Msg-Id": f"qorgau-{ev.id}"},
            )
    finally:
        await nc.close()


# --- claim --------------------------------------------------------------------------------


def claim(db: Session, *, limit: int) -> list[Delivery]:
    """Due deliveries whose every earlier delivery for the same object has succeeded."""
    now = utcnow()
    earlier = aliased(Delivery)
    blocked = exists().where(
        and_(
            earlier.subscription_id == Delivery.subscription_id,
            earlier.object_key == Delivery.object_key,
            earlier.event_id < Delivery.event_id,
            earlier.status != "delivered",
        )
    )
    stmt = (
        select(Delivery)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            ~blocked,
        )
        .order_by(Delivery.event_id)
        .limit(limit)
    )
    if _is_pg(db):
        stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
    rows = list(db.scalars(stmt))
    until = now + timedelta(seconds=integration_settings().claim_seconds)
    for d in rows:
        d.claimed_until = until
    db.commit()
    return rows


# --- send and settle ----------------------------------------------------------------------


@dataclass
class Outcome:
    delivery_id: int
    ok: bool
    code: int | None
    error: str


def _post(client: httpx.Client, d: Delivery, sub: Subscription, ev: OutboxEvent) -> Outcome:
    body = event_body(ev)
    headers = {
        "Content-Type": "application/json",
        HEADER: sign(sub.secret, body),
        "X-Qorgau-Event-Id": str(ev.id),
        "X-Qorgau-Event-Type": ev.type,
        "X-Qorgau-Delivery-Attempt": str(d.attempt + 1),
    }
    try:
        resp = client.post(sub.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(d.id, False, None, f"{type(exc).__name__}: {exc}"[:500])
    ok = 200 <= resp.status_code < 300
    return Outcome(d.id, ok, resp.status_code, "" if ok else f"HTTP {resp.status_code}")


def backoff(attempt: int) -> float:
    s = integration_settings()
    delay = min(s.backoff_cap_seconds, s.backoff_base_seconds * 2 ** max(0, attempt - 1))
    # equal jitter: spread retries of many events (not a secret, so not `secrets`)
    return delay * random.uniform(0.5, 1.0)  # nosec B311


def settle(db: Session, deliveries: Iterable[Delivery], outcomes: dict[int, Outcome]) -> None:
    s = integration_settings()
    now = utcnow()
    for d in deliveries:
        o = outcomes[d.id]
        d.attempt += 1
        d.claimed_until, d.response_code = None, o.code
        if o.ok:
            d.status, d.delivered_at, d.last_error = "delivered", now, ""
        elif d.attempt >= s.delivery_max_attempts:
            d.status, d.last_error = "dead", o.error
        else:
            d.last_error = o.error
            d.next_attempt_at = now + timedelta(seconds=backoff(d.attempt))
    db.commit()


def send_due(db: Session, client: httpx.Client, *, limit: int | None = None) -> int:
    s = integration_settings()
    batch = claim(db, limit=limit or s.delivery_batch)
    if not batch:
        return 0
    subs = {
        x.id: x
        for x in db.scalars(
            select(Subscription).where(Subscription.id.in_({d.subscription_id for d in batch}))
        )
    }
    events = {
        e.id: e
        for e in db.scalars(
            select(OutboxEvent).where(OutboxEvent.id.in_({d.event_id for d in batch}))
        )
    }
    jobs = [(d, subs[d.subscription_id], events[d.event_id]) for d in batch]
    with ThreadPoolExecutor(max_workers=s.delivery_concurrency) as pool:
        results = list(pool.map(lambda j: _post(client, *j), jobs))
    settle(db, batch, {o.delivery_id: o for o in results})
    return len(batch)


def make_client() -> httpx.Client:
    s = integration_settings()
    limits = httpx.Limits(
        max_connections=s.delivery_concurrency * 2,
        max_keepalive_connections=s.delivery_concurrency * 2,
    )
    return httpx.Client(timeout=s.delivery_timeout_seconds, limits=limits, follow_redirects=False)


def run_once(db: Session, client: httpx.Client) -> tuple[int, int]:
    """One pass: plan new events, send what is due. Returns (planned, sent)."""
    return plan(db), send_due(db, client)
