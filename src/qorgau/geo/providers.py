"""Built-in layer providers: the registry's own facts, and thin adapters that call the other
domains' service functions when those exist (otherwise the layer is listed as unavailable).

Each adapter talks to its domain only through that domain's service.py, resolved lazily with
`layers.resolve`, so a domain that is not built yet (or does not import) never breaks the map.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core.errors import DomainError
from qorgau.core.labels import N_
from qorgau.core.roles import PERMISSIONS
from qorgau.core.security import SYSTEM_ACTOR, Actor, scoped
from qorgau.geo.constants import MAP_READ
from qorgau.geo.layers import BASE, register_layer, resolve
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise, Site

READERS = set(PERMISSIONS[MAP_READ])
INJURY_WINDOW_DAYS = 365


def _call(spec: str, **kwargs: Any) -> Any:
    fn = resolve(spec)
    if fn is None:
        raise LookupError(spec)
    return fn(**kwargs)


def _guarded(fn: Any, *args: Any) -> dict[str, Any] | None:
    """A card part, or None when the caller's role may not see it (the domain says so)."""
    try:
        return fn(*args)
    except DomainError:
        return None


# --- enterprises (base layer) and registry facts -------------------------------------------
def registry_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    today = date.today()
    trend = [
        {
            "year": y,
            "headcount": registry.enterprise_headcount(
                db=db, enterprise_id=ent.id, on=date(y, 1, 1)
            ),
        }
        for y in range(today.year - 3, today.year + 1)
    ]
    return {
        "id": ent.id,
        "bin": ent.bin,
        "name": ent.name,
        "address": ent.address,
        "region_code": ent.region_code,
        "activity_code": ent.activity_code,
        "section": ent.section,
        "size_band": ent.size_band,
        "hazardous": ent.hazardous,
        "lon": ent.lon,
        "lat": ent.lat,
        "headcount": registry.enterprise_headcount(db=db, enterprise_id=ent.id, on=today),
        "headcount_trend": trend,
    }


def hazardous_ids(db: Session, ids: np.ndarray) -> set[int]:
    return set(db.scalars(select(Enterprise.id).where(Enterprise.hazardous.is_(True))))


# --- injuries (incidents) --------------------------------------------------------------------
def _accidents(actor: Actor, **filters: Any) -> Any:
    return _call("qorgau.incidents.service:accident_query", actor=actor, **filters).subquery()


def injured_ids(db: Session, ids: np.ndarray) -> set[int]:
    sub = _accidents(SYSTEM_ACTOR)
    since = datetime.now(UTC) - timedelta(days=INJURY_WINDOW_DAYS)
    stmt = select(sub.c.enterprise_id).where(sub.c.occurred_at >= since).distinct()
    return set(db.scalars(stmt))


def _accident_stats(db: Session, sub: Any, since: datetime) -> tuple[int, int]:
    row = db.execute(
        select(func.count(), func.coalesce(func.sum(sub.c.fatalities), 0)).where(
            sub.c.occurred_at >= since
        )
    ).one()
    return int(row[0]), int(row[1])


def injuries_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(days=INJURY_WINDOW_DAYS)
    n, dead = _accident_stats(db, _accidents(actor, enterprise_id=ent.id), since)
    headcount = registry.enterprise_headcount(db=db, enterprise_id=ent.id, on=date.today())
    # Sector figure: national aggregate for the enterprise's OKED section (no personal data).
    sec_sub = _accidents(SYSTEM_ACTOR)
    sec_n = (
        db.scalar(
            select(func.count()).where(
                sec_sub.c.occurred_at >= since, sec_sub.c.section == ent.section
            )
        )
        or 0
    )
    sec_workers = dict(
        registry.headcount(db=db, actor=SYSTEM_ACTOR, on=date.today(), group_by="section")
    ).get(ent.section, 0)
    return {
        "accidents_12m": n,
        "fatalities_12m": dead,
        "rate_per_1000": round(1000 * n / headcount, 2) if headcount else None,
        "sector_rate_per_1000": round(1000 * sec_n / sec_workers, 2) if sec_workers else None,
        "link": f"/incidents?enterprise_id={ent.id}",
    }


# --- insurance -------------------------------------------------------------------------------
def insurance_gap_ids(db: Session, ids: np.ndarray) -> set[int]:
    return set(_call("qorgau.insurance.service:open_gaps_by_enterprise", db=db))


def insurance_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    gaps = db.scalars(
        _call("qorgau.insurance.service:gap_query", actor=actor, enterprise_id=ent.id)
    ).all()
    contract = _call(
        "qorgau.insurance.service:active_contract_for", db=db, enterprise_id=ent.id, on=date.today()
    )
    return {
        "insured": contract is not None,
        "policy_no": getattr(contract, "policy_no", None),
        "valid_to": str(getattr(contract, "end_date", "")) or None,
        "open_gaps": sorted({str(getattr(g, "kind", "")) for g in gaps}),
        "link": f"/insurance/gaps?enterprise_id={ent.id}",
    }


# --- risk assessments ------------------------------------------------------------------------
def high_risk_ids(db: Session, ids: np.ndarray) -> set[int]:
    levels = _call("qorgau.risk.service:enterprise_risk_levels", db=db)
    return {eid for eid, band in levels.items() if band in ("high", "very_high")}


def risk_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    _call("qorgau.risk.service:enterprise_for_read", db=db, actor=actor, enterprise_id=ent.id)
    levels = _call("qorgau.risk.service:enterprise_risk_levels", db=db, enterprise_ids=[ent.id])
    return {"level": levels.get(ent.id), "link": f"/risk/enterprises/{ent.id}"}


# --- inspections: open violations, planned inspections ------------------------------------
INSPECTIONS_READ = "inspections.read"  # the inspections domain's own permission
OPEN_VIOLATIONS = "qorgau.inspections.service:open_violations_by_enterprise"
PLANNED_BY_ENTERPRISE = "qorgau.inspections.service:planned_inspections_by_enterprise"
PLANNED = "planned_inspections"
PLANNED_WINDOW_DAYS = 90  # the baked flag: plans running from today to 90 days ahead
PLANNED_MAX_DAYS = 731  # a date range asked on the map spans at most two years


def default_planned_range(today: date | None = None) -> tuple[date, date]:
    today = today or date.today()
    return today, today + timedelta(days=PLANNED_WINDOW_DAYS)


def open_violation_ids(db: Session, ids: np.ndarray) -> set[int]:
    return set(_call(OPEN_VIOLATIONS, db=db, actor=SYSTEM_ACTOR))


def planned_ids(db: Session, actor: Actor, start: date, end: date) -> set[int]:
    """Enterprises in the actor's scope with a pending planned inspection in `start..end`."""
    return set(_call(PLANNED_BY_ENTERPRISE, db=db, actor=actor, start=start, end=end))


def planned_ids_default(db: Session, ids: np.ndarray) -> set[int]:
    return planned_ids(db, SYSTEM_ACTOR, *default_planned_range())


def violations_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    per = _call(OPEN_VIOLATIONS, db=db, actor=actor, enterprise_ids=[ent.id])
    return {"open_violations": per.get(ent.id, 0), "link": "/inspections"}


def planned_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    today = date.today()
    per = _call(
        PLANNED_BY_ENTERPRISE,
        db=db,
        actor=actor,
        start=today,
        end=today + timedelta(days=365),
        enterprise_ids=[ent.id],
    )
    return {
        "planned": [
            {
                "plan_id": p.plan_id,
                "authority": p.authority,
                "period": f"{p.period_start.isoformat()} – {p.period_end.isoformat()}",
                "rank": p.rank,
            }
            for p in per.get(ent.id, [])
        ],
        "link": "/inspections",
    }


def equipment_missing_ids(db: Session, ids: np.ndarray) -> set[int]:
    """Enterprises with a required item missing or not working: (required, not working)."""
    per = _call("qorgau.equipment.service:missing_by_enterprise", db=db)
    return {eid for eid, pair in per.items() if pair[1]}


# --- concealment (possibly unreported accidents) ----------------------------------------------
CASE_QUERY = "qorgau.concealment.service:case_query"
CONCEALMENT_READ = "concealment.cases.read"  # the concealment domain's own permission
OPEN_CASE_STATES = ("open", "checking")


def concealment_ids(db: Session, ids: np.ndarray) -> set[int]:
    """Enterprises with a concealment case still open or being checked (all kinds)."""
    sub = _call(CASE_QUERY, actor=SYSTEM_ACTOR).subquery()
    stmt = select(sub.c.enterprise_id).where(sub.c.state.in_(OPEN_CASE_STATES)).distinct()
    return set(db.scalars(stmt))


def concealment_card(db: Session, actor: Actor, ent: Enterprise) -> dict[str, Any]:
    """Counts only (no persons): the case pages show the evidence to those allowed."""
    actor.require(CONCEALMENT_READ)
    sub = _call(CASE_QUERY, actor=actor).subquery()
    rows = db.execute(
        select(sub.c.state, sub.c.kind, sub.c.probability).where(sub.c.enterprise_id == ent.id)
    ).all()
    open_rows = [r for r in rows if r.state in OPEN_CASE_STATES]
    return {
        "open_cases": len(open_rows),
        "confirmed_cases": sum(1 for r in rows if r.state == "confirmed"),
        "max_probability": round(max((r.probability for r in open_rows), default=0.0), 2),
        "kinds": sorted({r.kind for r in open_rows}),
        "link": "/concealment",
    }


# --- alarms (points now, then live over the alarms domain's SSE stream) ----------------------
def open_alarms(
    db: Session, actor: Actor, bbox: tuple[float, float, float, float] | None = None
) -> list[dict[str, Any]]:
    """Open alarms in the actor's scope, placed at their site (the SSE events carry only
    `site_id`); the alarms domain checks its own permission and scope."""
    alarms = _call(
        "qorgau.alarms.service:list_alarms", db=db, actor=actor, open_only=True, limit=500
    )
    site_ids = {a.site_id for a in alarms}
    where = {s.id: (s.lon, s.lat) for s in db.scalars(select(Site).where(Site.id.in_(site_ids)))}
    out = []
    for a in alarms:
        lon, lat = where.get(a.site_id, (None, None))
        if lon is None or (bbox and not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])):
            continue
        out.append(
            {
                "alarm_id": a.id,
                "site_id": a.site_id,
                "enterprise_id": a.enterprise_id,
                "lon": lon,
                "lat": lat,
                "kind": a.kind,
                "state": a.state,
                "priority": a.priority,
                "life_safety": a.life_safety,
                "message": a.message,
            }
        )
    return out


def site_positions(db: Session, actor: Actor, site_ids: list[int]) -> dict[int, list[float]]:
    """Positions of sites in the actor's scope (for SSE events about a site not drawn yet)."""
    stmt = scoped(select(Site), Site, actor).where(Site.id.in_(site_ids))
    return {s.id: [s.lon, s.lat] for s in db.scalars(stmt)}


def register_builtin() -> None:
    register_layer(
        BASE,
        label=N_("Enterprises by risk"),
        roles=READERS,
        card_fn=registry_card,
        description=N_("Colour: risk band (registry and assessments)"),
        order=0,
    )
    register_layer(
        "hazardous",
        label=N_("Hazardous production facilities"),
        roles=READERS,
        flag_fn=hazardous_ids,
        order=10,
    )
    register_layer(
        "injuries",
        label=N_("Injuries (last 12 months)"),
        roles=READERS,
        permission="incidents.read",
        flag_fn=injured_ids,
        card_fn=injuries_card,
        order=20,
        requires=("qorgau.incidents.service:accident_query",),
        description=N_("Enterprises with a reported accident; cluster size = density"),
    )
    register_layer(
        "insurance_gaps",
        label=N_("Insurance gaps"),
        roles=READERS,
        permission="insurance.gaps.read",
        flag_fn=insurance_gap_ids,
        card_fn=insurance_card,
        requires=(
            "qorgau.insurance.service:open_gaps_by_enterprise",
            "qorgau.insurance.service:gap_query",
            "qorgau.insurance.service:active_contract_for",
        ),
        order=30,
    )
    register_layer(
        "high_risk",
        label=N_("High risk in assessments"),
        roles=READERS,
        permission="risk.read",
        flag_fn=high_risk_ids,
        card_fn=risk_card,
        order=40,
        requires=(
            "qorgau.risk.service:enterprise_risk_levels",
            "qorgau.risk.service:enterprise_for_read",
        ),
    )
    register_layer(
        "open_violations",
        label=N_("Open violations"),
        roles=READERS,
        permission=INSPECTIONS_READ,
        flag_fn=open_violation_ids,
        card_fn=violations_card,
        order=50,
        requires=(OPEN_VIOLATIONS,),
        description=N_("Enterprises with a violation not yet eliminated"),
    )
    register_layer(
        PLANNED,
        label=N_("Planned inspections"),
        roles=READERS,
        permission=INSPECTIONS_READ,
        flag_fn=planned_ids_default,
        card_fn=planned_card,
        order=60,
        requires=(PLANNED_BY_ENTERPRISE,),
        description=N_("In a risk-based plan and not yet inspected; choose the dates below"),
    )
    register_layer(
        "equipment_missing",
        label=N_("Missing mandatory OSH equipment"),
        roles=READERS,
        flag_fn=equipment_missing_ids,
        order=70,
        requires=("qorgau.equipment.service:missing_by_enterprise",),
    )
    register_layer(
        "concealment",
        label=N_("Concealment signals"),
        roles=READERS,
        permission=CONCEALMENT_READ,
        flag_fn=concealment_ids,
        card_fn=concealment_card,
        order=80,
        requires=(CASE_QUERY,),
        description=N_("Open or checked cases of a possibly unreported accident"),
    )
    register_layer(
        "alarms",
        label=N_("Active alarms (live)"),
        roles=READERS,
        permission="alarms.read",
        points_fn=open_alarms,
        live_url="/api/v1/alarms/stream",
        order=90,
        requires=("qorgau.alarms.router:stream", "qorgau.alarms.service:list_alarms"),
        description=N_("Open alarms at sites, updated as they happen"),
    )
