"""Alarm-system KPIs after EEMUA 191 / ISA-18.2, per site or region over a window.

- alarms per operator per hour (target ≤ 6 "very likely acceptable", ≤ 12 manageable)
  and the peak per 10 minutes (≤ 10); one operator console per site is assumed;
- % of 10-min periods in flood (> 10 alarms per operator);
- top-10 contributors (device × condition);
- chattering: the same device × condition raised ≥ 3 times within 1 minute;
- stale (open STALE alarms) and standing (active for more than 24 h) alarms.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.alarms.constants import READ
from qorgau.alarms.models import AlarmEvent, AlarmRecord, Device
from qorgau.core.db import utcnow
from qorgau.core.security import Actor, scoped

FLOOD = 10
BUCKET_S = 600


def compute(*, db: Session, actor: Actor, site_id: int | None = None,
            region: str | None = None, hours: int = 24) -> dict[str, Any]:
    actor.require(READ)
    now = utcnow()
    since = now - timedelta(hours=hours)
    stmt = scoped(select(AlarmEvent.at, AlarmRecord.device_id, AlarmRecord.kind,
                         AlarmRecord.site_id).join(AlarmRecord,
                                                   AlarmRecord.id == AlarmEvent.alarm_id),
                  AlarmRecord, actor).where(AlarmEvent.at >= since,
                                            AlarmEvent.trigger == "raise")
    if site_id is not None:
        stmt = stmt.where(AlarmRecord.site_id == site_id)
    if region:
        stmt = stmt.where(AlarmRecord.region_code == region)
    raises = db.execute(stmt).all()
    sites = {r.site_id for r in raises} or ({site_id} if site_id else set())
    operators = max(1, len(sites))
    buckets: Counter[tuple[int, int]] = Counter(
        (r.site_id, int(r.at.timestamp() // BUCKET_S)) for r in raises)
    n_buckets = max(1, hours * 3600 // BUCKET_S) * operators
    top = Counter((r.device_id, r.kind) for r in raises).most_common(10)
    names = dict(db.execute(select(Device.id, Device.code).where(
        Device.id.in_([d for (d, _k), _n in top if d is not None]))).all())
    return {
        "window_hours": hours, "operators": operators, "alarms": len(raises),
        "per_operator_hour": round(len(raises) / operators / hours, 2),
        "peak_per_10min": max(buckets.values(), default=0),
        "pct_time_in_flood": round(100.0 * sum(1 for n in buckets.values() if n > FLOOD)
                                   / n_buckets, 2),
        "top10": [{"device": names.get(d, "site"), "kind": k, "count": n}
                  for (d, k), n in top],
        "chattering": _chattering(raises, names),
        "stale": _open_count(db, actor, site_id, region, kind="STALE"),
        "standing": _open_count(db, actor, site_id, region, older_than=now - timedelta(
            hours=24)),
        "life_safety_open": _open_count(db, actor, site_id, region, life_safety=True),
    }


def _chattering(raises: list[Any], names: dict[int, str]) -> list[dict[str, Any]]:
    times: dict[tuple[int, str], list[float]] = defaultdict(list)
    for r in raises:
        times[(r.device_id, r.kind)].append(r.at.timestamp())
    out = []
    for (d, k), ts in times.items():
        ts.sort()
        if any(ts[i + 2] - ts[i] <= 60 for i in range(len(ts) - 2)):
            out.append({"device": names.get(d, str(d)), "kind": k, "count": len(ts)})
    return sorted(out, key=lambda x: -x["count"])[:10]


def _open_count(db: Session, actor: Actor, site_id: int | None, region: str | None, *,
                kind: str | None = None, older_than: Any = None,
                life_safety: bool | None = None) -> int:
    stmt = scoped(select(AlarmRecord.id), AlarmRecord, actor).where(
        AlarmRecord.open.is_(True), AlarmRecord.active.is_(True))
    if site_id is not None:
        stmt = stmt.where(AlarmRecord.site_id == site_id)
    if region:
        stmt = stmt.where(AlarmRecord.region_code == region)
    if kind:
        stmt = stmt.where(AlarmRecord.kind == kind)
    if older_than is not None:
        stmt = stmt.where(AlarmRecord.raised_at < older_than)
    if life_safety is not None:
        stmt = stmt.where(AlarmRecord.life_safety.is_(life_safety))
    return len(db.scalars(stmt).all())
