"""Exchange monitor: per-feed freshness, volumes, rejects, last error; silent-feed alerts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from qorgau.core.db import utcnow
from qorgau.core.events import emit
from qorgau.core.i18n import _
from qorgau.core.security import Actor
from qorgau.integration.constants import FEEDS, VIEW_MONITOR
from qorgau.integration.models import FeedReceipt, FeedStatus
from qorgau.integration.schemas import FeedHealthOut


def _status(db: Session, feed: str) -> FeedStatus:
    row = db.get(FeedStatus, feed)
    if row is None:
        row = FeedStatus(feed=feed, last_error="")
        db.add(row)
        db.flush()
    return row


def record_receipt(
    db: Session,
    *,
    feed: str,
    actor: Actor,
    delivery_id: str,
    rows: int,
    accepted: int = 0,
    rejected: int = 0,
    status: str,
    error: str = "",
) -> None:
    """Note a delivery in the caller's transaction (accepted ones commit with their data)."""
    now = utcnow()
    db.add(
        FeedReceipt(
            feed=feed,
            organisation_id=actor.organisation_id,
            delivery_id=delivery_id[:120],
            received_at=now,
            rows=rows,
            accepted=accepted,
            rejected=rejected,
            status=status,
            error=error,
        )
    )
    st = _status(db, feed)
    if status == "accepted":
        st.last_accepted_at, st.silent_since = now, None
    else:
        st.last_error, st.last_error_at = error, now


def feed_health(*, db: Session, actor: Actor) -> list[FeedHealthOut]:
    actor.require(VIEW_MONITOR)
    now = utcnow()
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    stmt = (
        select(
            FeedReceipt.feed,
            func.sum(case((FeedReceipt.received_at >= day, FeedReceipt.accepted), else_=0)),
            func.sum(FeedReceipt.accepted),
            func.sum(FeedReceipt.rejected),
        )
        .where(FeedReceipt.received_at >= week)
        .group_by(FeedReceipt.feed)
    )
    volumes = {f: (int(d or 0), int(w or 0), int(r or 0)) for f, d, w, r in db.execute(stmt)}
    statuses = {s.feed: s for s in db.scalars(select(FeedStatus))}
    out = []
    for name, feed in FEEDS.items():
        st = statuses.get(name)
        d, w, r = volumes.get(name, (0, 0, 0))
        last = st.last_accepted_at if st else None
        out.append(
            FeedHealthOut(
                feed=name,
                label=_(feed.label),
                last_accepted_at=last,
                rows_24h=d,
                rows_7d=w,
                rejected_7d=r,
                last_error=st.last_error if st else "",
                last_error_at=st.last_error_at if st else None,
                expected_hours=feed.expected_hours,
                silent=last is None or now - last > timedelta(hours=feed.expected_hours),
            )
        )
    return out


def check_silent_feeds(*, db: Session) -> list[str]:
    """Emit `feed.silent` once per silence for every feed quiet past its expected interval.

    A feed that has never delivered is not alerted (it is not connected yet); it shows on the
    monitor as silent. Run it from the worker loop or cron; commits.
    """
    now = utcnow()
    alerted: list[str] = []
    for st in db.scalars(select(FeedStatus).where(FeedStatus.last_accepted_at.is_not(None))):
        feed = FEEDS.get(st.feed)
        if feed is None or st.silent_since is not None or st.last_accepted_at is None:
            continue
        if now - st.last_accepted_at > timedelta(hours=feed.expected_hours):
            st.silent_since = now
            emit(
                db,
                type="feed.silent",
                object_type="feed",
                object_id=st.feed,
                payload=_silent_payload(st, feed.expected_hours),
            )
            alerted.append(st.feed)
    db.commit()
    return alerted


def _silent_payload(st: FeedStatus, hours: int) -> dict[str, Any]:
    return {"feed": st.feed, "last_accepted_at": st.last_accepted_at, "expected_hours": hours}


def delivery_summary(*, db: Session, actor: Actor) -> dict[str, int]:
    """Webhook deliveries by status (national view for the monitor roles)."""
    from qorgau.integration.models import Delivery

    actor.require(VIEW_MONITOR)
    rows = db.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
    out = {"pending": 0, "delivered": 0, "dead": 0}
    out.update({status: n for status, n in rows})
    return out
