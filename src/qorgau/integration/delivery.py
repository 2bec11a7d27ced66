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
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from qorgau.accounts import service as accounts
from qorgau.core.config import get_settings
from qorgau.core.db import is_postgresql, utcnow
from qorgau.core.events import OutboxEvent
from qorgau.integration.constants import integration_settings
from qorgau.integration.models import Delivery, Subscription
from qorgau.integration.sender import Request, Response, Sender
from qorgau.integration.signing import HEADER, sign

log = logging.getLogger("qorgau.integration.delivery")
# Events are read as plain rows (no ORM identity map or change tracking): attribute access is
# the same, at a fraction of the cost per event.
EVENT_COLUMNS = tuple(OutboxEvent.__table__.c)
NATIONAL_KINDS = {"ministry", "industry_ministry"}
REGIONAL_KINDS = {"inspectorate", "akimat", "emergency_ministry"}


def matches(patterns: str, event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p.strip()) for p in patterns.split(","))


def may_see(org: Any, ev: Any) -> bool:
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


def event_body(ev: Any) -> bytes:
    """The webhook body of an event (an OutboxEvent or a row of EVENT_COLUMNS)."""
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


# --- plan ---------------------------------------------------------------------------------


def _chunks(items: list[Any], size: int = 1000) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def plan(db: Session, *, limit: int = 1000) -> int:
    """Fan out undispatched events; one transaction (SKIP LOCKED lets PG workers share)."""
    stmt = (
        select(*EVENT_COLUMNS)
        .where(OutboxEvent.dispatched_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(limit)
    )
    if is_postgresql(db):
        stmt = stmt.with_for_update(skip_locked=True)
    events = list(db.execute(stmt))
    if not events:
        db.rollback()
        return 0
    subs = list(db.scalars(select(Subscription).where(Subscription.active)))
    orgs = {
        s.organisation_id: accounts.get_organisation(db, organisation_id=s.organisation_id)
        for s in subs
    }
    now = utcnow()
    rows = [
        {
            "event_id": ev.id,
            "subscription_id": sub.id,
            "organisation_id": sub.organisation_id,
            "object_key": f"{ev.object_type}:{ev.object_id}"[:170],
            "attempt": 0,
            "status": "pending",
            "next_attempt_at": now,
            "last_error": "",
        }
        for ev in events
        for sub in subs
        if matches(sub.event_types, ev.type) and may_see(orgs[sub.organisation_id], ev)
    ]
    # Set-based: one multi-row INSERT per chunk and one UPDATE for the events, not an ORM
    # object and a statement per row.
    for part in _chunks(rows):
        db.execute(insert(Delivery), part)
    for ids in _chunks([ev.id for ev in events]):
        db.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
    if integration_settings().nats_publish:
        publish_nats(events)  # raises → rollback → the events are planned again later
    db.commit()
    return len(events)


def publish_nats(events: list[Any]) -> None:
    asyncio.run(_publish(events))


async def _publish(events: list[Any]) -> None:
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


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery: the columns sending and settling need (no ORM object)."""

    id: int
    event_id: int
    subscription_id: int
    attempt: int


def claim(db: Session, *, limit: int) -> list[Claimed]:
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
        select(Delivery.id, Delivery.event_id, Delivery.subscription_id, Delivery.attempt)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
            ~blocked,
        )
        .order_by(Delivery.event_id)
        .limit(limit)
    )
    if is_postgresql(db):
        stmt = stmt.with_for_update(skip_locked=True, of=Delivery)
    rows = [Claimed(*r) for r in db.execute(stmt)]
    until = now + timedelta(seconds=integration_settings().claim_seconds)
    for ids in _chunks([c.id for c in rows]):
        db.execute(update(Delivery).where(Delivery.id.in_(ids)).values(claimed_until=until))
    db.commit()
    return rows


# --- send and settle ----------------------------------------------------------------------


@dataclass
class Outcome:
    delivery_id: int
    ok: bool
    code: int | None
    error: str


def _request(c: Claimed, sub: Subscription, ev: Any) -> Request:
    body = event_body(ev)
    headers = {
        "Content-Type": "application/json",
        HEADER: sign(sub.secret, body),
        "X-Qorgau-Event-Id": str(ev.id),
        "X-Qorgau-Event-Type": ev.type,
        "X-Qorgau-Delivery-Attempt": str(c.attempt + 1),
    }
    return Request(sub.url, body, headers)


def backoff(attempt: int) -> float:
    s = integration_settings()
    delay = min(s.backoff_cap_seconds, s.backoff_base_seconds * 2 ** max(0, attempt - 1))
    # equal jitter: spread retries of many events (not a secret)
    return delay * random.uniform(0.5, 1.0)  # nosec B311


def settle(db: Session, claimed: Iterable[Claimed], outcomes: dict[int, Outcome]) -> None:
    """Record the outcomes in one transaction: one UPDATE per response code for the delivered
    (the common case), one executemany for retries and dead letters (each its own backoff)."""
    s = integration_settings()
    now = utcnow()
    delivered: dict[int | None, list[int]] = defaultdict(list)
    failed: list[dict[str, Any]] = []
    for c in claimed:
        o = outcomes[c.id]
        if o.ok:
            delivered[o.code].append(c.id)
            continue
        attempt = c.attempt + 1
        row = {"id": c.id, "attempt": attempt, "claimed_until": None, "response_code": o.code}
        row["last_error"] = o.error
        if attempt >= s.delivery_max_attempts:
            row["status"] = "dead"
        else:
            row["next_attempt_at"] = now + timedelta(seconds=backoff(attempt))
        failed.append(row)
    for code, ids in delivered.items():
        for part in _chunks(ids):
            db.execute(
                update(Delivery)
                .where(Delivery.id.in_(part))
                .values(
                    status="delivered",
                    delivered_at=now,
                    last_error="",
                    attempt=Delivery.attempt + 1,
                    claimed_until=None,
                    response_code=code,
                )
                .execution_options(synchronize_session=False)
            )
    # dead and retried rows carry different columns: one executemany per shape
    for keys in {tuple(sorted(r)) for r in failed}:
        same = [r for r in failed if tuple(sorted(r)) == keys]
        db.execute(update(Delivery), same)
    db.commit()


def _start(db: Session, sender: Sender, batch: list[Claimed]) -> list[Future[Response]]:
    subs = {
        x.id: x
        for x in db.scalars(
            select(Subscription).where(Subscription.id.in_({c.subscription_id for c in batch}))
        )
    }
    events = {
        e.id: e
        for e in db.execute(
            select(*EVENT_COLUMNS).where(OutboxEvent.id.in_({c.event_id for c in batch}))
        )
    }
    db.commit()  # end the read transaction: nothing is held while the POSTs run
    return sender.submit_many(
        [_request(c, subs[c.subscription_id], events[c.event_id]) for c in batch]
    )


def _finish(db: Session, batch: list[Claimed], pending: list[Future[Response]]) -> None:
    answers = [f.result() for f in pending]
    outcomes = {
        c.id: Outcome(c.id, a.ok, a.code, a.error) for c, a in zip(batch, answers, strict=True)
    }
    settle(db, batch, outcomes)


def send_due(
    db: Session,
    sender: Sender,
    *,
    limit: int | None = None,
    rounds: int = 4,
    budget_s: float = 10.0,
) -> int:
    """Send up to `rounds` batches. While one batch's POSTs are in flight the next batch is
    claimed and then the previous one settled, so the database work overlaps the HTTP wait.
    Order per object still holds: a claim skips objects with an earlier undelivered delivery,
    and a batch in flight is not delivered until it is settled. No new batch is claimed after
    `budget_s` (slow receivers must not keep one pass far beyond its claims and job lease)."""
    size = limit or integration_settings().delivery_batch
    stop_claiming = time.monotonic() + budget_s
    sent = 0
    inflight: tuple[list[Claimed], list[Future[Response]]] | None = None
    for _ in range(max(1, rounds)):
        batch = claim(db, limit=size) if not inflight or time.monotonic() < stop_claiming else []
        if inflight:
            _finish(db, *inflight)
            sent += len(inflight[0])
            inflight = None
        if not batch:
            break
        inflight = (batch, _start(db, sender, batch))
    if inflight:
        _finish(db, *inflight)
        sent += len(inflight[0])
    return sent


def make_client() -> Sender:
    """The pooled sender a worker keeps for its lifetime (keep-alive across passes)."""
    s = integration_settings()
    return Sender(concurrency=s.delivery_concurrency, timeout=s.delivery_timeout_seconds)


def run_once(db: Session, sender: Sender) -> tuple[int, int]:
    """One pass: plan new events, send what is due. Returns (planned, sent)."""
    return plan(db), send_due(db, sender)
