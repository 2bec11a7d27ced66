"""Lagging and reporting-culture inputs of the OSH maturity index: hours worked per month
(the LTIFR denominator), near misses recorded by the enterprise, LTIFR and near-miss rate.

LTIFR = lost-time injuries × 1,000,000 ÷ hours worked, over the months of the last twelve
complete months (rolling year) for which the enterprise recorded its hours; injuries come from the
accidents domain (incidents.service.lost_time_injuries) for those same months only, so a
month without hours neither adds injuries nor hides them behind a short denominator.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.core import audit
from qorgau.core.errors import RuleViolation
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.incidents import service as incidents
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise, Site
from qorgau.risk import permissions as perm
from qorgau.risk.models import Hazard, HoursWorked, NearMiss
from qorgau.risk.schemas import HoursIn, NearMissIn

WINDOW_MONTHS = 12
PER_HOURS = 1_000_000


def months_back(today: date, n: int = WINDOW_MONTHS) -> list[tuple[int, int]]:
    """(year, month) of the n months ending with today's month, oldest first."""
    out, y, m = [], today.year, today.month
    for _ in range(n):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


# --- hours worked ------------------------------------------------------------------------------


def _latest_hours(
    db: Session,
    enterprise_ids: list[int] | None,
    months: list[tuple[int, int]],
    section: str = "",
    *,
    actor: Actor | None = None,
    region: str | None = None,
) -> dict[int, dict[tuple[int, int], float]]:
    """{enterprise: {(year, month): hours}} from the highest revision of each month (in the
    actor's scope and region when given)."""
    latest = (
        select(
            HoursWorked.enterprise_id,
            HoursWorked.year,
            HoursWorked.month,
            func.max(HoursWorked.revision).label("rev"),
        )
        .where(
            (HoursWorked.year * 100 + HoursWorked.month).between(
                months[0][0] * 100 + months[0][1], months[-1][0] * 100 + months[-1][1]
            )
        )
        .group_by(HoursWorked.enterprise_id, HoursWorked.year, HoursWorked.month)
    )
    if enterprise_ids is not None:
        latest = latest.where(HoursWorked.enterprise_id.in_(enterprise_ids))
    if section:
        latest = latest.join(Enterprise, Enterprise.id == HoursWorked.enterprise_id).where(
            Enterprise.section == section
        )
    if region:
        latest = latest.where(HoursWorked.region_code == region)
    if actor is not None:
        latest = scoped(latest, HoursWorked, actor)
    sub = latest.subquery()
    stmt = select(HoursWorked.enterprise_id, HoursWorked.year, HoursWorked.month, HoursWorked.hours)
    stmt = stmt.join(
        sub,
        (HoursWorked.enterprise_id == sub.c.enterprise_id)
        & (HoursWorked.year == sub.c.year)
        & (HoursWorked.month == sub.c.month)
        & (HoursWorked.revision == sub.c.rev),
    )
    out: dict[int, dict[tuple[int, int], float]] = {}
    for ent, y, m, hours in db.execute(stmt).all():
        out.setdefault(int(ent), {})[(int(y), int(m))] = float(hours)
    return out


def _check_period(db: Session, ent: Enterprise, data: HoursIn, today: date) -> None:
    if (data.year, data.month) > (today.year, today.month):
        raise RuleViolation("hours cannot be recorded for a future month", field="month")
    last_day = date(data.year, data.month, calendar.monthrange(data.year, data.month)[1])
    staff = registry.enterprise_headcount(db=db, enterprise_id=ent.id, on=min(last_day, today))
    ceiling = staff * 24 * last_day.day
    if staff and data.hours > ceiling:
        raise RuleViolation(
            f"{data.hours:g} hours is more than {staff} workers under contract can work in "
            f"{last_day.day} days ({ceiling} h)",
            field="hours",
        )


def record_hours(
    *, db: Session, actor: Actor, enterprise_id: int, data: HoursIn, today: date | None = None
) -> HoursWorked:
    """Hours worked in one month; a second entry for the month is a new revision."""
    ent = svc.enterprise_for_write(db, actor, enterprise_id)
    _check_period(db, ent, data, today or date.today())
    prev = db.scalars(
        select(HoursWorked)
        .where(
            HoursWorked.enterprise_id == ent.id,
            HoursWorked.year == data.year,
            HoursWorked.month == data.month,
        )
        .order_by(HoursWorked.revision.desc())
        .limit(1)
    ).first()
    row = HoursWorked(
        enterprise_id=ent.id,
        region_code=ent.region_code,
        year=data.year,
        month=data.month,
        hours=data.hours,
        revision=prev.revision + 1 if prev else 1,
        note=data.note,
        created_by=actor.label,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.hours.record",
        object_type="risk_hours_worked",
        object_id=row.id,
        before={"hours": prev.hours, "revision": prev.revision} if prev else None,
        after={
            "period": f"{data.year}-{data.month:02d}",
            "hours": data.hours,
            "revision": row.revision,
        },
    )
    db.commit()
    return row


def hours_worked(*, db: Session, actor: Actor, enterprise_id: int) -> list[HoursWorked]:
    """The current revision of every recorded month, newest month first."""
    svc.enterprise_for_read(db, actor, enterprise_id)
    rows = db.scalars(
        select(HoursWorked)
        .where(HoursWorked.enterprise_id == enterprise_id)
        .order_by(HoursWorked.year.desc(), HoursWorked.month.desc(), HoursWorked.revision.desc())
    )
    seen: set[tuple[int, int]] = set()
    out = []
    for r in rows:
        if (r.year, r.month) not in seen:
            seen.add((r.year, r.month))
            out.append(r)
    return out


# --- near misses -------------------------------------------------------------------------------


def report_near_miss(
    *, db: Session, actor: Actor, data: NearMissIn, today: date | None = None
) -> NearMiss:
    actor.require(perm.NEAR_MISS)
    ent = db.get(Enterprise, data.enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise RuleViolation("unknown enterprise", field="enterprise_id")
    today = today or date.today()
    if data.occurred_on > today:
        raise RuleViolation("the near miss date is in the future", field="occurred_on")
    if data.occurred_on < today - timedelta(days=366):
        raise RuleViolation("a near miss is recorded within a year", field="occurred_on")
    if data.site_id is not None:
        site = db.get(Site, data.site_id)
        if site is None or site.enterprise_id != ent.id:
            raise RuleViolation("the site is not the enterprise's", field="site_id")
    if data.hazard_id is not None:
        hazard = db.get(Hazard, data.hazard_id)
        if hazard is None or hazard.enterprise_id != ent.id:
            raise RuleViolation("the hazard is not in the enterprise's register", field="hazard_id")
    row = NearMiss(
        **data.model_dump(),
        region_code=ent.region_code,
        created_by=actor.label,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.near_miss.report",
        object_type="risk_near_miss",
        object_id=row.id,
        after={"on": row.occurred_on, "type": row.hazard_type, "severity": row.potential_severity},
    )
    db.commit()
    return row


def list_near_misses(
    *, db: Session, actor: Actor, enterprise_id: int, limit: int = 200
) -> list[NearMiss]:
    svc.enterprise_for_read(db, actor, enterprise_id)
    stmt = select(NearMiss).where(NearMiss.enterprise_id == enterprise_id)
    return list(
        db.scalars(stmt.order_by(NearMiss.occurred_on.desc(), NearMiss.id.desc()).limit(limit))
    )


# --- indicators --------------------------------------------------------------------------------


def _rate(injuries: int, hours: float) -> float | None:
    return round(injuries * PER_HOURS / hours, 2) if hours > 0 else None


def _injuries_in(
    db: Session, hours: dict[int, dict[tuple[int, int], float]], months: list[tuple[int, int]]
) -> int:
    """LTIs of these enterprises in the months each of them recorded hours for."""
    start = date(*months[0], 1)
    end = date(months[-1][0], months[-1][1], calendar.monthrange(*months[-1])[1])
    counts = incidents.lost_time_injuries(db=db, enterprise_ids=list(hours), start=start, end=end)
    return sum(n for (ent, y, m), n in counts.items() if (y, m) in hours.get(ent, {}))


def ltifr(db: Session, enterprise_id: int, today: date) -> dict[str, Any]:
    """The enterprise's LTIFR and its OKED section's, over the recorded months of the window."""
    months = months_back(today.replace(day=1) - timedelta(days=1))  # last 12 complete months
    own = _latest_hours(db, [enterprise_id], months)
    own_hours = sum(own.get(enterprise_id, {}).values())
    own_lti = _injuries_in(db, own, months) if own else 0
    ent = db.get(Enterprise, enterprise_id)
    sector = _latest_hours(db, None, months, section=ent.section) if ent and own else {}
    sector_hours = sum(h for per in sector.values() for h in per.values())
    sector_lti = _injuries_in(db, sector, months) if sector else 0
    return {
        "ltifr": _rate(own_lti, own_hours),
        "lost_time_injuries": own_lti,
        "hours": own_hours,
        "months_recorded": len(own.get(enterprise_id, {})),
        "sector_ltifr": _rate(sector_lti, sector_hours),
        "sector_enterprises": len(sector),
    }


def months_between(start: date, end: date) -> list[tuple[int, int]]:
    """(year, month) of every month that [start, end] touches, oldest first."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def pooled_ltifr(
    *,
    db: Session,
    actor: Actor,
    start: date,
    end: date,
    region: str | None = None,
    section: str | None = None,
    enterprise_id: int | None = None,
) -> dict[str, Any]:
    """LTIFR over the enterprises in the actor's scope (and filters) that recorded hours: their
    lost-time injuries in the recorded months of [start, end] × 1,000,000 / those hours. Where
    no hours are known the rate is None, never a guess."""
    months = months_between(start, end)
    ids = [enterprise_id] if enterprise_id else None
    hours = _latest_hours(db, ids, months, section or "", actor=actor, region=region)
    total = sum(h for per in hours.values() for h in per.values())
    lti = _injuries_in(db, hours, months) if hours else 0
    return {"ltifr": _rate(lti, total), "lost_time_injuries": lti, "hours": total,
            "enterprises_with_hours": len(hours)}


def near_miss_rate(db: Session, enterprise_id: int, today: date) -> dict[str, Any]:
    """Near misses per 100 workers over the last 365 days: the enterprise's own records plus
    anonymous near-miss reports about it (accidents domain)."""
    start = today - timedelta(days=364)
    own = (
        db.scalar(
            select(func.count()).where(
                NearMiss.enterprise_id == enterprise_id, NearMiss.occurred_on.between(start, today)
            )
        )
        or 0
    )
    anonymous = incidents.near_miss_reports(
        db=db, enterprise_id=enterprise_id, start=start, end=today
    )
    staff = registry.enterprise_headcount(db=db, enterprise_id=enterprise_id, on=today)
    return {
        "near_miss_rate_per_100": round(100 * (own + anonymous) / staff, 2) if staff else None,
        "near_misses": int(own),
        "anonymous_reports": anonymous,
        "workers": staff,
    }
