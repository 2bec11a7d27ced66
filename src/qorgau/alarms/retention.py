"""Retention of alarm telemetry, once a day (`jobs.py`; docs/alarms.md, "Retention"): raw
segment hour files, 1-minute roll-ups and dead letters (with the unprocessable messages kept
whole beside the segments) older than their settings
(`QORGAU_ALARM_*_RETENTION_DAYS`; 0 keeps them forever) are deleted.

Alarm occurrences, their ISA-18.2 transitions, withdrawals and notifications are regulated
records and are never purged here. A segment hour file that an ingest mark still points into
(`alarm_ingest_mark.tail`: a replay after a crash reads it) is kept whatever its age.

Database rows go in bounded chunks, each transaction committed after `CHUNK` rows or `TXN_S`
seconds, so a large first purge never holds SQLite's write lock or PostgreSQL's row locks for
long against ingest. Roll-ups are deleted device by device: each statement is a range of the
primary key (device, minute); there is no index on the minute alone (it would cost every
roll-up write)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.orm import Session

from qorgau.alarms.models import DeadLetter, Device, IngestMark, Rollup
from qorgau.alarms.store import SegmentStore
from qorgau.core import audit
from qorgau.core.config import Settings, get_settings
from qorgau.core.security import SYSTEM_ACTOR

log = logging.getLogger("qorgau.alarms.retention")
CHUNK = 5000  # rows one statement deletes at most
TXN_S = 0.25  # a purge transaction is committed after this long, even with fewer rows
_ROLLUP, _DEAD = cast(Table, Rollup.__table__), cast(Table, DeadLetter.__table__)
# (the column that orders a range, the conditions selecting it)
Range = tuple[ColumnElement[Any], tuple[ColumnElement[bool], ...]]


def run(db: Session, *, store: SegmentStore | None = None, now: float | None = None,
        settings: Settings | None = None) -> dict[str, Any]:
    """Purge what is past retention; audited (system actor) and logged with its counts, also
    when a step fails (what was deleted before it stays deleted)."""
    cfg = settings or get_settings()
    now = time.time() if now is None else now
    store = store or SegmentStore()
    done: dict[str, Any] = {"raw_days": cfg.alarm_raw_retention_days,
                            "rollup_days": cfg.alarm_rollup_retention_days,
                            "dead_letter_days": cfg.alarm_dead_letter_retention_days}
    try:
        if cfg.alarm_raw_retention_days > 0:
            removed, held = store.purge(
                keep_days=cfg.alarm_raw_retention_days, now=now, hold=marked_hours(db))
            done |= {"segment_files": removed, "segment_files_held": len(held)}
        if cfg.alarm_rollup_retention_days > 0:
            done["rollups"] = purge_rollups(db, _cutoff(now, cfg.alarm_rollup_retention_days))
        if cfg.alarm_dead_letter_retention_days > 0:
            done["dead_letters"] = purge_dead_letters(
                db, _cutoff(now, cfg.alarm_dead_letter_retention_days))
        if keep := unprocessable_days(cfg):
            done["unprocessable_files"] = store.purge_unprocessable(keep_days=keep, now=now)
    except Exception as exc:
        db.rollback()
        done["error"] = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        log.info("alarm telemetry retention: %s", done)
        audit.record(db, actor=SYSTEM_ACTOR, action="alarms.retention.purge",
                     object_type="alarm_telemetry",
                     object_id=datetime.fromtimestamp(now, UTC).date().isoformat(), after=done)
        db.commit()
    return done


def unprocessable_days(cfg: Settings) -> int:
    """How long a kept unprocessable message stays: its readings are in no segment file, so
    as long as raw readings do, and at least as long as its dead letter; forever (0) if
    either is kept forever."""
    days = (cfg.alarm_raw_retention_days, cfg.alarm_dead_letter_retention_days)
    return 0 if min(days) <= 0 else max(days)


def marked_hours(db: Session) -> set[tuple[int, int]]:
    """(site, hour) of every segment file an ingest mark points into."""
    rows = db.execute(select(IngestMark.site_id, IngestMark.tail)).all()
    db.commit()  # no read transaction held while the files go
    return {(site, int(hour)) for site, tail in rows for hour in (tail or {})}


def purge_rollups(db: Session, cutoff: datetime) -> int:
    """Roll-ups of minutes before `cutoff`, every device's."""
    return _chunked(db, ((_ROLLUP.c.minute, (_ROLLUP.c.device_id == dev,
                                              _ROLLUP.c.minute < cutoff))
                         for dev in _device_ids(db)), _ROLLUP)


def purge_dead_letters(db: Session, cutoff: datetime) -> int:
    """Dead letters received before `cutoff` (ids grow with time: the oldest come first)."""
    return _chunked(db, [(_DEAD.c.id, (_DEAD.c.received_at < cutoff,))], _DEAD)


def _cutoff(now: float, days: int) -> datetime:
    return datetime.fromtimestamp(now, UTC) - timedelta(days=days)


def _device_ids(db: Session, page: int = 1000) -> Iterator[int]:
    last = 0
    while ids := db.scalars(select(Device.id).where(Device.id > last)
                            .order_by(Device.id).limit(page)).all():
        yield from ids
        last = ids[-1]


def _chunked(db: Session, ranges: Iterable[Range], table: Table) -> int:
    """Delete each (order column, conditions) range in statements of at most CHUNK rows (the
    CHUNK-th oldest row bounds each), committing after CHUNK rows or TXN_S seconds."""
    total = pending = 0
    since = time.monotonic()
    for col, where in ranges:
        while True:
            n = _delete_chunk(db, table, col, where)
            total, pending = total + n, pending + n
            if pending >= CHUNK or time.monotonic() - since > TXN_S:
                db.commit()
                pending, since = 0, time.monotonic()
            if n < CHUNK:
                break
    db.commit()
    return total


def _delete_chunk(db: Session, table: Table, col: ColumnElement[Any],
                  where: tuple[ColumnElement[bool], ...]) -> int:
    bound = db.scalar(select(col).where(*where).order_by(col).offset(CHUNK - 1).limit(1))
    if bound is not None:
        where = (*where, col <= bound)
    return db.execute(delete(table).where(*where)).rowcount
