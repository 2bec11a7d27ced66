"""Integration operations: feed deliveries (inline or as jobs), import jobs, webhook
subscriptions, dead letters and replay. No HTTP here."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qorgau.accounts import service as accounts
from qorgau.core import audit
from qorgau.core.db import get_sessionmaker, utcnow
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.roles import Role
from qorgau.core.security import Actor, in_scope
from qorgau.integration.bulk import Applied, check_sent_at, rows_digest, validate_rows
from qorgau.integration.connectors import CONNECTORS
from qorgau.integration.constants import (
    FEEDS,
    MANAGE_DELIVERIES,
    MANAGE_SUBSCRIPTIONS,
    integration_settings,
)
from qorgau.integration.exceptions import BatchTooLarge, WrongFeed
from qorgau.integration.models import Delivery, ImportJob, Subscription
from qorgau.integration.monitor import record_receipt
from qorgau.integration.schemas import BulkResultOut, FeedDeliveryIn, RowError, SubscriptionIn

log = logging.getLogger("qorgau.integration")


def require_feed(actor: Actor, feed: str) -> None:
    """Only a system account whose key is scoped to exactly this feed may send it."""
    if feed not in CONNECTORS:
        raise NotFound(f"no feed {feed!r}; known feeds: {', '.join(CONNECTORS)}")
    if actor.kind != "system" or actor.feed != feed:
        raise WrongFeed(feed)


def _check_envelope(feed: str, data: FeedDeliveryIn) -> None:
    s = integration_settings()
    if len(data.rows) > s.max_batch_rows:
        raise BatchTooLarge(f"at most {s.max_batch_rows} rows per delivery", field="rows")
    problem = check_sent_at(data.sent_at)
    if problem:
        raise RuleViolation(problem, field="sent_at")


def receive_feed(
    *, db: Session, actor: Actor, feed: str, data: FeedDeliveryIn
) -> BulkResultOut | ImportJob:
    """Apply a delivery inline (whole or nothing) or queue it as an import job."""
    require_feed(actor, feed)
    _check_envelope(feed, data)
    s = integration_settings()
    as_job = data.mode == "job" or (data.mode == "auto" and len(data.rows) > s.sync_max_rows)
    if as_job:
        return queue_job(db=db, actor=actor, feed=feed, data=data)
    if len(data.rows) > s.sync_max_rows:
        raise BatchTooLarge(f"at most {s.sync_max_rows} rows inline; use mode=job", field="rows")
    return apply_rows(db=db, actor=actor, feed=feed, delivery_id=data.delivery_id, rows=data.rows)


def apply_rows(
    *,
    db: Session,
    actor: Actor,
    feed: str,
    delivery_id: str,
    rows: list[dict[str, Any]],
    progress: Any = None,
    before_commit: Callable[[BulkResultOut], None] | None = None,
) -> BulkResultOut:
    """Validate and apply a delivery whole or not at all, with its receipt and audit entry.
    `before_commit` writes the caller's own record of the outcome (an import job's status) in
    the same transaction, so a crash can never leave applied rows behind a "running" job."""
    handler = CONNECTORS[feed].handler
    parsed, errors = validate_rows(handler.row_model, rows)
    if progress:
        progress(len(rows) // 2)
    applied = Applied([], errors)
    if not errors:
        try:
            applied = handler.apply(db, actor, parsed, delivery_id)
        except Exception as exc:  # an unexpected failure still leaves nothing half-applied
            db.rollback()
            record_receipt(
                db,
                feed=feed,
                actor=actor,
                delivery_id=delivery_id,
                rows=len(rows),
                status="failed",
                error=str(exc)[:500],
            )
            db.commit()
            raise
    if applied.errors:
        db.rollback()
        first = applied.errors[0]
        record_receipt(
            db,
            feed=feed,
            actor=actor,
            delivery_id=delivery_id,
            rows=len(rows),
            rejected=len({e.row for e in applied.errors}),
            status="rejected",
            error=f"row {first.row} {first.field}: {first.reason}",
        )
        out = BulkResultOut(
            feed=feed,
            delivery_id=delivery_id,
            status="rejected",
            rows=len(rows),
            errors=applied.errors[:1000],
        )
        if before_commit:
            before_commit(out)
        db.commit()
        return out
    record_receipt(
        db,
        feed=feed,
        actor=actor,
        delivery_id=delivery_id,
        rows=len(rows),
        accepted=len(rows),
        status="accepted",
    )
    audit.record(
        db,
        actor=actor,
        action="feed.accept",
        object_type="feed",
        object_id=feed,
        after={
            "delivery_id": delivery_id,
            "rows": len(rows),
            "rows_sha256": rows_digest(rows),
            **applied.counts,
        },
    )
    out = BulkResultOut(
        feed=feed,
        delivery_id=delivery_id,
        status="applied",
        rows=len(rows),
        counts=applied.counts,
        results=applied.results,
    )
    if before_commit:
        before_commit(out)
    db.commit()
    return out


def ingest_records(
    *, db: Session, actor: Actor, feed: str, records: list[dict[str, Any]], delivery_id: str
) -> BulkResultOut:
    """A connector run: source records (from its file or HTTP driver) → rows → apply whole."""
    connector = CONNECTORS[feed]
    rows, errors = [], []
    for idx, record in enumerate(records):
        try:
            rows.append(connector.to_row(record))
        except KeyError as exc:
            errors.append(RowError(row=idx, field=str(exc.args[0]), reason="missing in source"))
        except (ValueError, TypeError) as exc:
            errors.append(RowError(row=idx, field="record", reason=str(exc)))
    if errors:
        return BulkResultOut(
            feed=feed,
            delivery_id=delivery_id,
            status="rejected",
            rows=len(records),
            errors=errors[:1000],
        )
    return apply_rows(db=db, actor=actor, feed=feed, delivery_id=delivery_id, rows=rows)


# --- import jobs -------------------------------------------------------------------------


def queue_job(*, db: Session, actor: Actor, feed: str, data: FeedDeliveryIn) -> ImportJob:
    job = ImportJob(
        feed=feed,
        organisation_id=actor.organisation_id,
        actor=actor.label,
        actor_key_id=actor.id if actor.kind == "system" else None,
        delivery_id=data.delivery_id,
        status="queued",
        total_rows=len(data.rows),
        rows=data.rows,
        created_by=actor.label,
    )
    db.add(job)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="import_job.queue",
        object_type="import_job",
        object_id=job.id,
        after={"feed": feed, "rows": len(data.rows)},
    )
    db.commit()
    if integration_settings().inprocess_jobs:
        threading.Thread(
            target=run_job, args=(job.id,), daemon=True, name=f"import-job-{job.id}"
        ).start()
    return job


def _claim_job(db: Session, job_id: int) -> bool:
    res = db.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == "queued")
        .values(status="running", started_at=utcnow())
    )
    db.commit()
    return bool(res.rowcount)


def _set_progress(job_id: int, done: int) -> None:
    with get_sessionmaker()() as s:
        s.execute(update(ImportJob).where(ImportJob.id == job_id).values(processed_rows=done))
        s.commit()


def _close_job(job: ImportJob, status: str, *, results: dict | None = None,
               error: str | None = None) -> None:
    job.status, job.processed_rows = status, job.total_rows
    job.rows, job.finished_at = None, utcnow()
    if results is not None:
        job.results = results
    if error is not None:
        job.error = error


def run_job(job_id: int) -> str | None:
    """Process one queued job (thread in the embedded default; `worker imports` in production)."""
    with get_sessionmaker()() as db:
        if not _claim_job(db, job_id):
            return None
        job = db.get(ImportJob, job_id)
        assert job is not None

        def finish(out: BulkResultOut) -> None:  # in the delivery's own transaction
            _close_job(job, "done" if out.status == "applied" else "failed", results={
                "status": out.status,
                "counts": out.counts,
                "errors": [e.model_dump() for e in out.errors],
            })

        try:
            actor = accounts.actor_for_api_key(db, key_id=job.actor_key_id or 0)
            apply_rows(
                db=db,
                actor=actor,
                feed=job.feed,
                delivery_id=job.delivery_id,
                rows=job.rows or [],
                progress=lambda n: _set_progress(job_id, n),
                before_commit=finish,
            )
        except Exception as exc:  # keep the job visible as failed; the delivery left nothing
            log.exception("import job %s failed", job_id)
            db.rollback()
            _close_job(job, "failed", error=str(exc)[:2000])
            db.commit()
        return job.status


def requeue_stale_jobs(db: Session) -> int:
    """Queue again the jobs whose process died mid-run: nothing of theirs was committed."""
    cutoff = utcnow() - timedelta(seconds=integration_settings().job_stale_after_seconds)
    res = db.execute(
        update(ImportJob)
        .where(ImportJob.status == "running", ImportJob.started_at < cutoff)
        .values(status="queued", processed_rows=0)
    )
    db.commit()
    if res.rowcount:
        log.warning("re-queued %d import job(s) whose process stopped mid-run", res.rowcount)
    return int(res.rowcount or 0)


def run_queued_jobs(*, limit: int = 10) -> int:
    with get_sessionmaker()() as db:
        requeue_stale_jobs(db)
        ids = list(
            db.scalars(
                select(ImportJob.id)
                .where(ImportJob.status == "queued")
                .order_by(ImportJob.id)
                .limit(limit)
            )
        )
    return sum(1 for i in ids if run_job(i))


def get_job(*, db: Session, actor: Actor, job_id: int) -> ImportJob:
    job = db.get(ImportJob, job_id)
    if job is None or not in_scope(job, actor):
        raise NotFound("import job not found")
    return job


# --- subscriptions, deliveries, replay ---------------------------------------------------


def _own(stmt: Any, model: Any, actor: Actor) -> Any:
    """Subscriptions and deliveries belong to one organisation whatever the caller's reach
    (a regional inspectorate's hooks are its own, not its region's); admins see all."""
    if actor.role is Role.ADMIN:
        return stmt
    return stmt.where(model.organisation_id == actor.organisation_id)


def _is_own(obj: Any, actor: Actor) -> bool:
    return actor.role is Role.ADMIN or obj.organisation_id == actor.organisation_id


def create_subscription(
    *, db: Session, actor: Actor, data: SubscriptionIn
) -> tuple[Subscription, str]:
    actor.require(MANAGE_SUBSCRIPTIONS)
    if actor.organisation_id is None:
        raise RuleViolation("the caller has no organisation", field="organisation_id")
    secret = data.secret or secrets.token_urlsafe(32)
    sub = Subscription(
        organisation_id=actor.organisation_id,
        name=data.name,
        event_types=data.event_types,
        url=str(data.url),
        secret=secret,
        created_by=actor.label,
    )
    db.add(sub)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="subscription.create",
        object_type="subscription",
        object_id=sub.id,
        after={"url": sub.url, "event_types": sub.event_types},
    )
    db.commit()
    return sub, secret


def list_subscriptions(*, db: Session, actor: Actor) -> list[Subscription]:
    actor.require(MANAGE_SUBSCRIPTIONS)
    return list(
        db.scalars(_own(select(Subscription), Subscription, actor).order_by(Subscription.id))
    )


def deactivate_subscription(*, db: Session, actor: Actor, subscription_id: int) -> Subscription:
    actor.require(MANAGE_SUBSCRIPTIONS)
    sub = db.get(Subscription, subscription_id)
    if sub is None or not _is_own(sub, actor):
        raise NotFound("subscription not found")
    sub.active = False
    audit.record(
        db,
        actor=actor,
        action="subscription.deactivate",
        object_type="subscription",
        object_id=sub.id,
    )
    db.commit()
    return sub


def list_deliveries(
    *, db: Session, actor: Actor, status: str | None, limit: int = 200
) -> list[Delivery]:
    actor.require(MANAGE_SUBSCRIPTIONS)
    stmt = _own(select(Delivery), Delivery, actor).order_by(Delivery.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Delivery.status == status)
    return list(db.scalars(stmt))


def replay(*, db: Session, actor: Actor, delivery_ids: list[int], all_dead: bool) -> int:
    """Put dead (or delivered) deliveries back in the queue; receivers dedupe by event id."""
    if not (actor.can(MANAGE_SUBSCRIPTIONS) or actor.can(MANAGE_DELIVERIES)):
        actor.require(MANAGE_SUBSCRIPTIONS)
    stmt = _own(select(Delivery), Delivery, actor)
    if all_dead:
        stmt = stmt.where(Delivery.status == "dead")
    else:
        stmt = stmt.where(Delivery.id.in_(delivery_ids))
    rows = list(db.scalars(stmt))
    if not all_dead and len(rows) != len(set(delivery_ids)):
        raise NotFound("delivery not found")
    now = utcnow() - timedelta(seconds=1)
    for d in rows:
        d.status, d.attempt, d.next_attempt_at, d.claimed_until = "pending", 0, now, None
    audit.record(
        db,
        actor=actor,
        action="delivery.replay",
        object_type="delivery",
        object_id=",".join(str(d.id) for d in rows[:50]) or "-",
        after={"count": len(rows)},
    )
    db.commit()
    return len(rows)


def feed_names() -> list[str]:
    return list(FEEDS)
