"""Injury indicators, aggregated in SQL within the caller's slice: counts, rates per 1,000 and
per 100,000 workers (SDG 8.8.1) with exact Poisson intervals, same-period year-on-year change,
monthly trend. Denominator: employment-register headcount (registry) on the period's midpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import DateTime, and_, case, cast, distinct, func, select
from sqlalchemy.orm import Session

from qorgau.core.db import is_postgresql
from qorgau.core.errors import RuleViolation
from qorgau.core.i18n import get_language, localized_name
from qorgau.core.roles import Reach
from qorgau.core.security import Actor
from qorgau.incidents import coding
from qorgau.incidents import service as incidents
from qorgau.indicators.constants import DIMENSIONS, PER_100K, PER_1000, READ
from qorgau.indicators.stats import change_pct, rate
from qorgau.registry import service as registry

V = incidents.VICTIM
HEADCOUNT_GROUPS = {"region": "region", "section": "section", "enterprise": "enterprise"}


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    region: str | None = None
    section: str | None = None
    severity: str | None = None
    cause: str | None = None
    enterprise_id: int | None = None

    def check(self) -> None:
        if self.end < self.start:
            raise RuleViolation("the end date is before the start date", field="end")
        if (self.end - self.start).days > 366 * 20:
            raise RuleViolation("the period is longer than 20 years", field="start")

    @property
    def midpoint(self) -> date:
        return self.start + (self.end - self.start) / 2


def default_filters(today: date | None = None) -> Filters:
    today = today or date.today()
    return Filters(start=date(today.year, 1, 1), end=today)


def _where(actor: Actor, f: Filters) -> list[Any]:
    conds = [incidents.victims_scope(actor), V.occurred_on.between(f.start, f.end)]
    for col, value in (
        (V.region_code, f.region),
        (V.section, f.section),
        (V.severity, f.severity),
        (V.cause_code, f.cause),
        (V.enterprise_id, f.enterprise_id),
    ):
        if value:
            conds.append(col == value)
    return conds


def _group_column(by: str) -> Any:
    return {
        "region": V.region_code,
        "section": V.section,
        "cause": V.cause_code,
        "severity": V.severity,
        "enterprise": V.enterprise_id,
    }[by]


FATAL = func.sum(case((V.severity == "fatal", 1), else_=0))


def totals(*, db: Session, actor: Actor, f: Filters) -> dict[str, int]:
    actor.require(READ)
    f.check()
    row = db.execute(
        select(func.count(V.id), FATAL, func.count(distinct(V.accident_id))).where(
            *_where(actor, f)
        )
    ).one()
    injured, fatal, accidents = int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)
    return {"injured": injured, "fatal": fatal, "nonfatal": injured - fatal, "accidents": accidents}


def grouped(*, db: Session, actor: Actor, f: Filters, by: str) -> list[tuple[Any, int, int, int]]:
    """(key, injured, fatal, accidents) per group, computed by the database."""
    actor.require(READ)
    if by not in DIMENSIONS:
        raise RuleViolation(f"by must be one of {', '.join(DIMENSIONS)}", field="by")
    f.check()
    if by == "month":
        return _by_month(db, actor, f)
    col = _group_column(by).label("key")
    stmt = (
        select(col, func.count(V.id), FATAL, func.count(distinct(V.accident_id)))
        .where(*_where(actor, f))
        .group_by(col)
        .order_by(col)
    )
    return [(k, int(n or 0), int(d or 0), int(a or 0)) for k, n, d, a in db.execute(stmt)]


def _by_month(db: Session, actor: Actor, f: Filters) -> list[tuple[Any, int, int, int]]:
    """Grouped on the month's first day: date_trunc on PostgreSQL is about 3x cheaper per row
    than year * 100 + month (EXTRACT returns numeric); the key becomes yyyymm here."""
    if is_postgresql(db):
        col = func.date_trunc("month", cast(V.occurred_on, DateTime))
    else:
        col = func.strftime("%Y-%m-01", V.occurred_on)
    key = col.label("key")
    stmt = (
        select(key, func.count(V.id), FATAL, func.count(distinct(V.accident_id)))
        .where(*_where(actor, f))
        .group_by(key)
        .order_by(key)
    )
    out = []
    for k, n, d, a in db.execute(stmt):
        y, m = (k.year, k.month) if hasattr(k, "year") else (int(k[:4]), int(k[5:7]))
        out.append((y * 100 + m, int(n or 0), int(d or 0), int(a or 0)))
    return out


def headcounts(*, db: Session, actor: Actor, f: Filters, by: str) -> tuple[dict[Any, int], int]:
    """Workers under contract on the period's midpoint, per group and in total, with the same
    region / section / enterprise filters and the caller's slice. National and regional figures
    come from the registry's trigger-maintained daily/monthly/yearly headcount changes."""
    return registry.headcount_in_force(
        db=db,
        actor=actor,
        on=f.midpoint,
        group_by=by if by in HEADCOUNT_GROUPS else None,
        region=f.region,
        section=f.section,
        enterprise_id=f.enterprise_id,
    )


def _rates(injured: int, fatal: int, workers: int) -> dict[str, Any]:
    r = rate(injured, workers, PER_1000)
    fr, nr = rate(fatal, workers, PER_100K), rate(injured - fatal, workers, PER_100K)
    return {
        "headcount": workers,
        "rate_per_1000": r.value,
        "rate_low": r.low,
        "rate_high": r.high,
        "fatal_per_100k": fr.value,
        "fatal_low": fr.low,
        "fatal_high": fr.high,
        "nonfatal_per_100k": nr.value,
        "nonfatal_low": nr.low,
        "nonfatal_high": nr.high,
    }


def _labeller(db: Session, actor: Actor, by: str) -> Any:
    lang = get_language()
    if by == "region":
        names = {r.iso: localized_name(r) for r in registry.regions(db=db)}
        return lambda k: names.get(k, k)
    if by == "section":
        names = {a.code: localized_name(a) for a in registry.activities(db=db, level="section")}
        return lambda k: f"{k} · {names.get(k, '')}"
    if by == "cause":

        def cause_label(k: Any) -> str:
            try:
                return f"{k} · {coding.cause(k).label(lang)}" if k else "—"
            except coding.CodingError:
                return str(k)

        return cause_label
    if by == "enterprise":

        def ent_label(k: Any) -> str:
            try:
                return registry.get_enterprise(db=db, actor=actor, enterprise_id=int(k)).name
            except Exception:
                return str(k)

        return ent_label
    if by == "month":
        return lambda k: f"{int(k) // 100}-{int(k) % 100:02d}"
    return lambda k: k


def table(*, db: Session, actor: Actor, f: Filters, by: str, limit: int = 500) -> dict[str, Any]:
    """Rows with counts and rates for one dimension, plus the total row."""
    rows = grouped(db=db, actor=actor, f=f, by=by)
    by_key, total_workers = headcounts(db=db, actor=actor, f=f, by=by)
    label = _labeller(db, actor, by)
    if by in ("cause", "severity"):
        rows.sort(key=lambda r: -r[1])
    if by == "enterprise":
        rows = sorted(rows, key=lambda r: -r[1])[:limit]
    out = []
    for key, injured, fatal, accidents in rows[:limit]:
        workers = by_key.get(key, 0) if by in HEADCOUNT_GROUPS else total_workers
        out.append(
            {
                "key": key,
                "label": label(key),
                "injured": injured,
                "fatal": fatal,
                "nonfatal": injured - fatal,
                "accidents": accidents,
                **_rates(injured, fatal, workers),
            }
        )
    tot = totals(db=db, actor=actor, f=f)
    return {
        "by": by,
        "start": f.start,
        "end": f.end,
        "rows": out,
        "total": {**tot, **_rates(tot["injured"], tot["fatal"], total_workers)},
    }


def same_period_dates(on: date) -> tuple[date, date, date, date]:
    """1 Jan–on this year and the same dates a year earlier (29 Feb → 28 Feb)."""
    prev_on = (
        on.replace(year=on.year - 1, day=28)
        if (on.month, on.day) == (2, 29)
        else on.replace(year=on.year - 1)
    )
    return date(on.year, 1, 1), on, date(on.year - 1, 1, 1), prev_on


def year_on_year(
    *, db: Session, actor: Actor, on: date, f: Filters | None = None
) -> dict[str, Any]:
    """Same-period change, e.g. 1 Jan–1 May against 1 Jan–1 May a year earlier (one query)."""
    actor.require(READ)
    cur_start, cur_end, prev_start, prev_end = same_period_dates(on)
    base = Filters(
        prev_start,
        cur_end,
        *((f.region, f.section, f.severity, f.cause, f.enterprise_id) if f else ()),
    )
    in_cur = V.occurred_on.between(cur_start, cur_end)
    in_prev = V.occurred_on.between(prev_start, prev_end)
    cond = and_(*_where(actor, base), in_cur | in_prev)
    row = db.execute(
        select(
            func.sum(case((in_cur, 1), else_=0)),
            func.sum(case((in_prev, 1), else_=0)),
            func.sum(case((in_cur & (V.severity == "fatal"), 1), else_=0)),
            func.sum(case((in_prev & (V.severity == "fatal"), 1), else_=0)),
        ).where(cond)
    ).one()
    cur, prev, cur_f, prev_f = (int(x or 0) for x in row)
    return {
        "current": {"start": cur_start, "end": cur_end, "injured": cur, "fatal": cur_f},
        "previous": {"start": prev_start, "end": prev_end, "injured": prev, "fatal": prev_f},
        "injured_change_pct": change_pct(cur, prev),
        "fatal_change_pct": change_pct(cur_f, prev_f),
    }


def summary(*, db: Session, actor: Actor, f: Filters) -> dict[str, Any]:
    tot = totals(db=db, actor=actor, f=f)
    _, workers = headcounts(db=db, actor=actor, f=f, by="total")
    return {
        "start": f.start,
        "end": f.end,
        **tot,
        **_rates(tot["injured"], tot["fatal"], workers),
        "yoy": year_on_year(db=db, actor=actor, on=f.end, f=f),
        "ltifr": ltifr(db=db, actor=actor, f=f),
    }


def ltifr(*, db: Session, actor: Actor, f: Filters) -> dict[str, Any]:
    """Lost-time injuries per million hours worked, over the enterprises that recorded their
    hours (risk register) for the months of the period; None where no hours are known."""
    from qorgau.risk import service as risk

    if f.severity or f.cause:  # LTIFR counts every lost-time injury; a subset would mislead
        return {"ltifr": None, "lost_time_injuries": None, "hours": None,
                "enterprises_with_hours": None}
    return risk.pooled_ltifr(db=db, actor=actor, start=f.start, end=f.end, region=f.region,
                             section=f.section, enterprise_id=f.enterprise_id)


def regions_for_map(*, db: Session, actor: Actor, f: Filters) -> list[dict[str, Any]]:
    """Per-region figures for the choropleth (every region, zeros included)."""
    t = table(db=db, actor=actor, f=f, by="region")
    have = {r["key"]: r for r in t["rows"]}
    by_key, _ = headcounts(db=db, actor=actor, f=f, by="region")
    out = []
    for reg in registry.regions(db=db):
        row = have.get(reg.iso)
        if row is None:
            if actor.reach is not Reach.NATIONAL and reg.iso not in by_key:
                continue
            workers = by_key.get(reg.iso, 0)
            row = {
                "key": reg.iso,
                "label": localized_name(reg),
                "injured": 0,
                "fatal": 0,
                "nonfatal": 0,
                "accidents": 0,
                **_rates(0, 0, workers),
            }
        out.append({**row, "iso": reg.iso, "lon": reg.lon, "lat": reg.lat})
    return out
