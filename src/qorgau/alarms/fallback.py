"""The fallback stage of dispatch: a notification that could not be delivered raises the
site's NOTIFY_FAILED alarm and goes to another contact of its tier on another channel, then
up the tiers, under the same routing rules (priority threshold, role, quiet hours). Each
attempt is a row of its own; an address that already failed for the alarm is not tried."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms import masking, notify, texts
from qorgau.alarms.dispatch import Message, routes, site_contacts
from qorgau.alarms.models import AlarmRecord, Contact, Notification
from qorgau.core import liveness
from qorgau.core.db import utcnow

log = logging.getLogger("qorgau.alarms.dispatch")


def fall_back(db: Session, row: Notification, rec: AlarmRecord, body: dict[str, Any]) -> int:
    """Failed delivery (`row`, claimed and not yet recorded): raise its own alarm
    (NOTIFY_FAILED), then tell the row's tier through another channel (`contacts_for`): the
    first contact that takes it ends the fallback (1). Nobody to fall back to, or nobody took
    it: counted (`notify_no_fallback`, `notify_fallback_failed` in the ingest metrics),
    logged, and the NOTIFY_FAILED alarm is the signal (0).

    No channel is called inside a write transaction: the failure, the NOTIFY_FAILED raise and
    the first attempt's row (claimed by this process, "sending") are committed together, then
    the attempt is sent; its result and the next attempt's row are the next commit. A hanging
    fallback channel so holds neither SQLite's write lock (every ingest batch waits on it)
    nor the NOTIFY_FAILED row's lock on PostgreSQL, and a crash mid-attempt leaves the
    attempt "sending" under a dead process's claim: the next process sends it, and its own
    failure falls back from there."""
    from qorgau.alarms.records import delivery_failed

    delivery_failed(db, row, rec)  # a new occurrence, or one more failure of the active one
    candidates = contacts_for(db, row, rec)
    c = next(candidates, None)
    attempt = _claimed_attempt(db, row, rec, c) if c is not None else None
    db.commit()  # the failure, the alarm and the attempt, before the channel is called
    tried = 0
    while c is not None and attempt is not None:
        tried += 1
        if _send_one(attempt, rec, body, c):
            db.commit()
            return 1
        c = next(candidates, None)
        attempt = _claimed_attempt(db, row, rec, c) if c is not None else None
        db.commit()  # this attempt's result, and the next one's row
    from qorgau.alarms.ingest.core import METRICS

    METRICS.counts["notify_fallback_failed" if tried else "notify_no_fallback"] += 1
    log.error("alarm %d, site %d: %s to %s failed and %s", rec.id, rec.site_id, row.channel,
              row.target, "every fallback failed" if tried else "there is no one to fall back to")
    return 0


def contacts_for(db: Session, row: Notification, rec: AlarmRecord) -> Iterator[Contact]:
    """Who may take a failed row's message instead, in order: the contacts `routes` admits
    (priority threshold, role, quiet hours) for the row's tier on a channel other than the
    failed one, then those of each tier above; not an address that already failed for this
    alarm. Within a tier the failed contact's person first (their other channel), then the
    channel `notify.FALLBACK` names, in-app last."""
    from qorgau.alarms.records import notice

    contacts = site_contacts(db, {rec.site_id})
    site = contacts.get(rec.site_id, [])
    failed = next((c for c in site if (c.channel, c.target) == (row.channel, row.target)),
                  None)
    dead = set(db.execute(select(Notification.channel, Notification.target).where(
        Notification.alarm_id == rec.id, Notification.status == "failed")).tuples())
    prefer = notify.FALLBACK.get(row.channel, "sms")
    for tier in range(row.tier, max((c.tier for c in site), default=0) + 1):
        msg = Message([notice(rec, "fallback")], tier, rec.life_safety)
        alt = [c for c in routes(db, msg, contacts)
               if c.channel != row.channel and (c.channel, c.target) not in dead]
        yield from sorted(alt, key=lambda c: (not _same_person(c, failed), c.channel != prefer,
                                              c.channel == "inapp", c.id))


def _same_person(c: Contact, failed: Contact | None) -> bool:
    if failed is None:
        return False
    return bool((failed.user_id is not None and c.user_id == failed.user_id)
                or (failed.name and c.name == failed.name))


def _claimed_attempt(db: Session, row: Notification, rec: AlarmRecord,
                     c: Contact) -> Notification:
    """A fallback attempt's row, claimed by this process; the subject (in `error`, as a
    planned row's) says what failed: a wearable not reached by its withdraw order is named,
    an address masked (a webhook's URL carries its credentials, a phone or mailbox is the
    other contact's own: `masking`)."""
    subject = texts.fallback_subject(texts.fields(rec), row.channel,
                                     masking.target(row.channel, row.target), c.lang)
    fb = Notification(dedup_key=f"fb:{row.id}:{c.id}", alarm_id=rec.id,
                      enterprise_id=rec.enterprise_id, region_code=rec.region_code,
                      channel=c.channel, target=c.target, tier=c.tier, attempts=1,
                      status="sending", error=subject[:300], claimed_at=utcnow(),
                      claimed_by=liveness.me())
    db.add(fb)
    return fb


def _send_one(fb: Notification, rec: AlarmRecord, body: dict[str, Any], c: Contact) -> bool:
    """One fallback attempt: its result on its row (committed by the caller)."""
    body = {**body, **texts.webhook_fields(rec, c.lang)}
    subject, fb.status, fb.error = fb.error, "sent", ""
    try:
        notify.CHANNELS[c.channel](c.target, subject, body, c.secret)
    except notify.DeliveryError as exc:
        fb.status, fb.error = "failed", str(exc)[:300]
    except Exception as exc:  # a driver's own bug fails this attempt, as in `delivery.retry`
        log.exception("fallback channel %s raised", c.channel)
        fb.status, fb.error = "failed", f"{type(exc).__name__}: {exc}"[:300]
    return fb.status == "sent"
