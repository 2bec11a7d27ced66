"""Choropleth metrics by region, each from its owning domain when that domain exists.

A metric whose domain is not built yet is listed with `available: false` and a note, and
asking for it returns the same note (HTTP 200, no rows), so the page can say why it is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core.i18n import _, localized_name
from qorgau.core.labels import N_
from qorgau.core.security import Actor
from qorgau.geo.constants import MAP_CHOROPLETH
from qorgau.geo.exceptions import MapInputError
from qorgau.geo.index import get_snapshot
from qorgau.geo.layers import resolve
from qorgau.geo.service import regions_in_scope
from qorgau.registry import service as registry

Values = dict[str, tuple[float | None, float, float]]  # region -> (value, numerator, denominator)


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str
    requires: tuple[str, ...]
    compute: Callable[[Session, Actor, list[str]], Values] | None
    permission: str | None = None  # the owning domain's own read permission


def _workers(db: Session, actor: Actor) -> dict[str, int]:
    return dict(registry.headcount(db=db, actor=actor, on=date.today(), group_by="region"))


def _per_region_enterprises(db: Session, regions: list[str]) -> dict[str, int]:
    snap = get_snapshot(db)
    counts = np.bincount(snap.region, minlength=256)
    return {r: int(counts[int(r[3:])]) for r in regions}


def _enterprises(db: Session, actor: Actor, regions: list[str]) -> Values:
    return {r: (float(n), float(n), 1.0) for r, n in _per_region_enterprises(db, regions).items()}


def _accident_rates(db: Session, actor: Actor, regions: list[str], *, fatal: bool) -> Values:
    query = resolve("qorgau.incidents.service:accident_query")
    sub = query(actor=actor).subquery()
    since = datetime.now(UTC) - timedelta(days=365)
    measure = func.sum(sub.c.fatalities) if fatal else func.count()
    rows = db.execute(
        select(sub.c.region_code, measure)
        .where(sub.c.occurred_at >= since)
        .group_by(sub.c.region_code)
    ).all()
    got = {r: float(n or 0) for r, n in rows}
    workers = _workers(db, actor)
    per = 100_000 if fatal else 1_000
    out: Values = {}
    for r in regions:
        den = float(workers.get(r, 0))
        num = got.get(r, 0.0)
        out[r] = (round(per * num / den, 3) if den else None, num, den)
    return out


def _injury_rate(db: Session, actor: Actor, regions: list[str]) -> Values:
    return _accident_rates(db, actor, regions, fatal=False)


def _fatality_rate(db: Session, actor: Actor, regions: list[str]) -> Values:
    return _accident_rates(db, actor, regions, fatal=True)


def _insurance_coverage(db: Session, actor: Actor, regions: list[str]) -> Values:
    gaps = resolve("qorgau.insurance.service:open_gaps_by_enterprise")(db=db)
    snap = get_snapshot(db)
    gap_ids = np.fromiter(gaps.keys(), np.int64)
    with_gap = np.bincount(snap.region[np.isin(snap.ids, gap_ids)], minlength=256)
    totals = _per_region_enterprises(db, regions)
    out: Values = {}
    for r in regions:
        den = float(totals[r])
        num = den - float(with_gap[int(r[3:])])
        out[r] = (round(100 * num / den, 1) if den else None, num, den)
    return out


def _under_reporting(db: Session, actor: Actor, regions: list[str]) -> Values:
    """Capture–recapture estimate of the latest concealment run: 1 − registered / N̂, in %."""
    rows = resolve("qorgau.concealment.service:under_reporting_by_region")(db=db, actor=actor)
    got = {r["region_code"]: r for r in rows}
    out: Values = {}
    for r in regions:
        row = got.get(r)
        if row is None:
            out[r] = (None, 0.0, 0.0)
            continue
        n_hat = float(row["n_hat"])
        out[r] = (
            round(100 * float(row["under_reporting"]), 1),
            round(max(0.0, n_hat - float(row["registered"])), 1),
            round(n_hat, 1),
        )
    return out


def _open_violations(db: Session, actor: Actor, regions: list[str]) -> Values:
    """Open violations per 100 enterprises of the region (the inspections domain counts them,
    in the actor's scope; the enterprises come from the map index)."""
    counts = resolve(OPEN_VIOLATIONS)(db=db, actor=actor)
    totals = _per_region_enterprises(db, regions)
    out: Values = {}
    for r in regions:
        den = float(totals[r])
        num = float(counts.get(r, 0))
        out[r] = (round(100 * num / den, 2) if den else None, num, den)
    return out


def _equipment_compliance(db: Session, actor: Actor, regions: list[str]) -> Values:
    """Required OSH equipment items installed and working (heartbeat within 24 h), in %: the
    equipment domain's own per-region figures in the actor's scope."""
    rows = resolve(EQUIPMENT_COMPLIANCE)(db=db, actor=actor, group_by="region")
    got = {row["key"]: row for row in rows}
    out: Values = {}
    for r in regions:
        row = got.get(r)
        if row is None or not row["required"]:
            out[r] = (None, 0.0, 0.0)  # nothing required there: no value to colour
            continue
        out[r] = (float(row["pct"]), float(row["working"]), float(row["required"]))
    return out


OPEN_VIOLATIONS = "qorgau.inspections.service:open_violations_by_region"
EQUIPMENT_COMPLIANCE = "qorgau.equipment.service:compliance"

METRICS = [
    Metric("enterprises", N_("Enterprises"), "", (), _enterprises),
    Metric(
        "injury_rate",
        N_("Injury rate per 1,000 workers (12 months)"),
        "‰",
        ("qorgau.incidents.service:accident_query",),
        _injury_rate,
    ),
    Metric(
        "fatality_rate",
        N_("Fatality rate per 100,000 workers (12 months)"),
        "",
        ("qorgau.incidents.service:accident_query",),
        _fatality_rate,
    ),
    Metric(
        "under_reporting",
        N_("Estimated under-reporting of accidents"),
        "%",
        ("qorgau.concealment.service:under_reporting_by_region",),
        _under_reporting,
        permission="concealment.estimates.read",
    ),
    Metric(
        "insurance_coverage",
        N_("Insurance coverage (enterprises without a gap)"),
        "%",
        ("qorgau.insurance.service:open_gaps_by_enterprise",),
        _insurance_coverage,
    ),
    Metric(
        "open_violations",
        N_("Open violations per 100 enterprises"),
        "",
        (OPEN_VIOLATIONS,),
        _open_violations,
        permission="inspections.read",
    ),
    Metric(
        "equipment_compliance",
        N_("Mandatory OSH equipment compliance"),
        "%",
        (EQUIPMENT_COMPLIANCE,),
        _equipment_compliance,
        permission="equipment.compliance.read",
    ),
]
BY_NAME = {m.name: m for m in METRICS}


def _available(m: Metric) -> bool:
    return m.compute is not None and all(resolve(spec) is not None for spec in m.requires)


def _allowed(m: Metric, actor: Actor) -> bool:
    return m.permission is None or actor.can(m.permission)


def metric_list(actor: Actor) -> list[dict[str, Any]]:
    """Metrics the actor's role may see (a domain's own permission hides its metric)."""
    return [
        {
            "name": m.name,
            "label": _(m.label),
            "unit": m.unit,
            "available": _available(m),
            "note": "" if _available(m) else _("Not available yet"),
        }
        for m in METRICS
        if _allowed(m, actor)
    ]


def choropleth(*, db: Session, actor: Actor, metric: str) -> dict[str, Any]:
    actor.require(MAP_CHOROPLETH)
    m = BY_NAME.get(metric)
    if m is None or not _allowed(m, actor):
        raise MapInputError(f"unknown metric; one of {', '.join(BY_NAME)}", field="metric")
    head = {"metric": m.name, "label": _(m.label), "unit": m.unit, "metrics": metric_list(actor)}
    if not _available(m):
        return {**head, "available": False, "note": _("Not available yet"), "rows": []}
    regions = regions_in_scope(actor)
    names = {r.iso: localized_name(r) for r in registry.regions(db=db)}
    assert m.compute is not None
    values = m.compute(db, actor, regions)
    rows = [
        {
            "region": r,
            "name": names.get(r, r),
            "value": values[r][0],
            "numerator": values[r][1],
            "denominator": values[r][2],
        }
        for r in regions
    ]
    return {**head, "available": True, "note": "", "rows": rows}
