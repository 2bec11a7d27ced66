"""The retry stage of the dispatch pipeline (`dispatch.py` plans the rows): planned
`Notification` rows are claimed a few at a time (two workers never both take a row; a dead
sender's claim is taken again: at once when its process is known to be gone, else after
the lease), sent with retry and backoff, and their result recorded in a commit of
its own. A failure falls back to the next channel (`fallback.py`); a success may return the
site's NOTIFY_FAILED to normal (`records.py`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from qorgau.alarms import notify, texts
from qorgau.alarms.dispatch import FLOOD_SUMMARY
from qorgau.alarms.models import AlarmRecord, Contact, Notification, Withdrawal
from qorgau.core import liveness
from qorgau.core.db import get_sessionmaker, utcnow

log = logging.getLogger("qorgau.alarms.delivery")
RETRIES = 3
# a claim older than this is taken to be a dead sender's: three tries of a 3-s channel
# timeout take ~10 s, a chunk of CLAIM_CHUNK rows ~100 s at worst
CLAIM_LEASE_S = 300.0
CLAIM_CHUNK = 10


def _claim(db: Session, ids: list[int], dead: list[str]) -> list[int]:
    """Atomically take rows to send: pending ones, and "sending" ones whose claim is older
    than the lease or whose claimant is in `dead` (their sender died between claim and
    result: sent again, at least once). One UPDATE … RETURNING and one commit for the lot;
    two workers never both take a row."""
    now = utcnow()
    args = {"ids": ids, "now": now, "lapsed": _lapsed(now), "dead": dead, "me": liveness.me()}
    got = set(db.connection().execute(_CLAIM, args).scalars())
    db.commit()
    return [i for i in ids if i in got]


_N = Notification.__table__
# built once, as the contacts' lookups below: building and keying a statement per call cost
# more than running it (each of these runs once per life-safety notice, on the worker)
# pending, or "sending" under a claim from before `lapsed` (`_lapsed`: the lease ago) or of
# a process that is gone (`_dead`)
_CLAIMABLE = or_(_N.c.status == "pending", and_(_N.c.status == "sending", or_(
    _N.c.claimed_at < bindparam("lapsed"),
    _N.c.claimed_by.in_(bindparam("dead", expanding=True)))))
_CLAIM = update(_N).where(_N.c.id.in_(bindparam("ids", expanding=True)), _CLAIMABLE).values(
    status="sending", claimed_at=bindparam("now"), claimed_by=bindparam("me")
).returning(_N.c.id)
_CLAIMANTS = select(_N.c.claimed_by).where(_N.c.status == "sending").distinct()


def release(row_id: int) -> None:
    """Give back this process's claim on a row whose sending raised (the database locked,
    restarted or in a deadlock): pending again, for the next backlog run, instead of held by
    a live process until the lease runs out. Never raises: the claim then waits out the lease."""
    try:
        with get_sessionmaker()() as db:
            db.execute(update(_N).where(_N.c.id == row_id, _N.c.status == "sending",
                                        _N.c.claimed_by == liveness.me())
                       .values(status="pending", claimed_by=None))
            db.commit()
    except Exception as exc:
        log.warning("claim on notification %d not given back: %s", row_id, exc)


def _lapsed(now: datetime) -> datetime:
    return now - timedelta(seconds=CLAIM_LEASE_S)


def _dead(db: Session) -> list[str]:
    """Processes holding claims that are known to have ended (`core.liveness`): a handful of
    names at most ("sending" rows are those in flight), each checked in /proc."""
    return [n for n in db.scalars(_CLAIMANTS) if liveness.gone(n)]


def retry(send: Any, *args: Any, attempts: int = RETRIES, backoff_s: float = 0.05) -> str:
    """Call `send` up to `attempts` times with exponential backoff between them; '' on
    success, else the last error. No retry when there is no way to deliver at all."""
    err = ""
    for i in range(attempts):
        if i:
            time.sleep(backoff_s * 2 ** (i - 1))
        try:
            send(*args)
            return ""
        except notify.Undeliverable as exc:
            return str(exc)
        except notify.DeliveryError as exc:
            err = str(exc)
        except Exception as exc:  # a driver's own bug fails this row, never the rows after it
            log.exception("channel %s raised", getattr(send, "__name__", send))
            return f"{type(exc).__name__}: {exc}"
    return err


def deliver(db: Session, ids: list[int] | None = None, *, limit: int = 200,
            settle_s: float = 0.0, stop: Callable[[], bool] | None = None) -> dict[str, int]:
    """Send pending notifications (these ids, or up to `limit` of the pending and those whose
    claim lapsed: life-safety first, then by priority, then the oldest; life-safety rows and
    orders younger than `settle_s` are left to the fast path that sends them) with retry and
    fallback; rows are claimed a few at a time, so a slow channel cannot hold claims past the
    lease. `stop`: asked before each claim; what is not claimed stays pending."""
    dead: list[str] = []
    if ids is None:
        now, dead = utcnow(), _dead(db)
        ids = list(db.scalars(_BACKLOG.where(_CLAIMABLE, _SETTLED).limit(limit), {
            "lapsed": _lapsed(now), "dead": dead,
            "settled": now - timedelta(seconds=settle_s)}))
    counts = {"sent": 0, "failed": 0, "fallback": 0}
    for k in range(0, len(ids), CLAIM_CHUNK):
        if stop is not None and stop():
            break
        for row_id in _claim(db, ids[k:k + CLAIM_CHUNK], dead):
            _send(db, row_id, counts)
    return counts


# a backlog of more than one batch (a channel down, a flood) must not hold a life-safety
# alarm's notice or a withdraw order (no alarm) behind older routine ones
_BACKLOG = (select(Notification.id)
            .outerjoin(AlarmRecord, AlarmRecord.id == Notification.alarm_id)
            .order_by(case((Notification.alarm_id.is_(None), 0),
                           (AlarmRecord.life_safety.is_(True), 0), else_=1),
                      func.coalesce(AlarmRecord.priority, 0), Notification.id))


# what a worker's loop sends right after its commit (`core._after_commit`): a life-safety
# alarm's rows and withdraw orders (no alarm)
_SETTLED = or_(Notification.at <= bindparam("settled"), and_(
    Notification.alarm_id.is_not(None), AlarmRecord.life_safety.is_not(True)))


def _send(db: Session, row_id: int, counts: dict[str, int]) -> None:
    """One claimed row: send with retry, record the result (its own commit)."""
    row = db.get(Notification, row_id)
    if row.alarm_id is None:
        _send_order(db, row, counts)
        return
    rec = db.get(AlarmRecord, row.alarm_id)
    body = _body(rec)
    if row.detail and row.detail.get("type") == FLOOD_SUMMARY:  # its own machine part
        body = {"alarm_id": rec.id, "site_id": rec.site_id, "kind": "FLOOD", **row.detail,
                "text": row.error}
    elif row.channel in ("webhook", "email", "sms"):  # the text in the contact's language
        body |= texts.webhook_fields(rec, _lang(db, row, rec))
    elif row.channel == "device":  # the wearable's code and screen text (the site's language)
        zone = _wearer_zone(db, rec.site_id, row.target) or rec.zone_code
        body |= texts.withdraw_command(texts.fields(rec).get("quantity"), zone)
    secret = _secret(db, row, rec)
    db.commit()  # no transaction open while the channel is called (its reads are done)
    row.attempts = RETRIES
    err = retry(notify.CHANNELS[row.channel], row.target, row.error, body, secret)
    row.status = "sent" if not err else "failed"
    if err:
        row.error = err[:300]
        counts["failed"] += 1
        from qorgau.alarms.fallback import fall_back  # it builds on this module's stages

        counts["fallback"] += fall_back(db, row, rec, body)
    else:
        counts["sent"] += 1
        from qorgau.alarms.records import delivery_succeeded

        delivery_succeeded(db, row, rec)  # the site's NOTIFY_FAILED may return to normal
    db.commit()


def _send_order(db: Session, row: Notification, counts: dict[str, int]) -> None:
    """A command of an order given without an alarm: the wearer's zone (where they are now,
    else where the order listed them) on the screen, as an alarm's order. A failure raises
    the site's NOTIFY_FAILED naming the wearable; with no alarm there is no tier to fall back
    to, so that alarm (announced like any) is what tells the contacts."""
    from qorgau.alarms.records import delivery_failed, delivery_succeeded

    w = db.get(Withdrawal, row.withdrawal_id)
    listed = next((p["zone"] for p in reversed(w.people) if p["device"] == row.target), None)
    zone = _wearer_zone(db, w.site_id, row.target) or listed
    body = {"type": "withdraw", "withdrawal_id": w.id, "site_id": w.site_id, "zone": zone,
            "zones": w.zones, "reason": w.reason, **texts.withdraw_command(None, zone)}
    db.commit()  # no transaction open while the channel is called
    row.attempts = RETRIES
    err = retry(notify.CHANNELS[row.channel], row.target, row.error, body, "")
    row.status = "sent" if not err else "failed"
    # both read only the site and its scope columns, which the order carries as an alarm does
    if err:
        row.error = err[:300]
        counts["failed"] += 1
        delivery_failed(db, row, w)  # type: ignore[arg-type]
    else:
        counts["sent"] += 1
        delivery_succeeded(db, row, w)  # type: ignore[arg-type]
    db.commit()


def _body(rec: AlarmRecord) -> dict[str, Any]:
    return {"type": "alarm", "alarm_id": rec.id, "site_id": rec.site_id, "kind": rec.kind,
            "state": rec.state,
            "priority": rec.priority, "life_safety": rec.life_safety, "zone": rec.zone_code,
            "value": rec.value, "raised_at": rec.raised_at.isoformat(), "message": rec.message}


def _wearer_zone(db: Session, site_id: int, device: str) -> str | None:
    """Where the wearer is now: the zone their screen tells them to leave (an order may
    cover other zones than the alarm's)."""
    from qorgau.alarms.models import Device, Presence

    return db.scalar(select(Presence.zone_code).join(Device, Device.id == Presence.device_id)
                     .where(Device.site_id == site_id, Device.code == device).limit(1))


def _lang(db: Session, row: Notification, rec: AlarmRecord) -> str | None:
    return db.scalar(_LANG, _contact(row, rec))


def _secret(db: Session, row: Notification, rec: AlarmRecord) -> str:
    """The signing secret of the alarm's site's contact: two organisations may post to one
    receiver URL, each with its own secret, and must never sign with the other's."""
    return db.scalar(_SECRET, _contact(row, rec)) or ""


def _contact(row: Notification, rec: AlarmRecord) -> dict[str, Any]:
    return {"site": rec.site_id, "target": row.target, "channel": row.channel}


_OF_CONTACT = (Contact.site_id == bindparam("site"), Contact.target == bindparam("target"),
               Contact.channel == bindparam("channel"))
_LANG = select(Contact.lang).where(*_OF_CONTACT).limit(1)
_SECRET = select(Contact.secret).where(*_OF_CONTACT).order_by(Contact.id).limit(1)
