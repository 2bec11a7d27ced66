"""Inspections operations other domains call (the map, indicators, the daily scheduler)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.db import get_sessionmaker
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.inspections import conduct, enforcement, hpf, planning
from qorgau.inspections.constants import READ, READ_SCORES, RECORD_VIOLATION
from qorgau.inspections.models import Inspection, InspectionPlan, PlanItem, Violation
from qorgau.inspections.scoring import ScoreBreakdown
from qorgau.inspections.scoring import risk_scores as _risk_scores

# Re-exported operations (each lives in its own workflow module).
create_plan = planning.create_plan
set_capacity = planning.set_capacity
submit_inspection = conduct.submit
get_inspection = conduct.get_inspection
checklist = conduct.checklist
register_facility = hpf.register_facility
register_facilities = hpf.register_facilities
register_device = hpf.register_device
record_examination = hpf.record_examination
list_facilities = hpf.list_facilities
list_devices = hpf.list_devices
hpf_points = hpf.hpf_points
impose_fine = enforcement.impose_fine
file_appeal = enforcement.file_appeal
decide_appeal = enforcement.decide_appeal
list_prescriptions = enforcement.list_prescriptions


def risk_scores(
    *, db: Session, enterprise_ids: list[int] | None = None, on: date | None = None
) -> dict[int, ScoreBreakdown]:
    """Explainable scores for the map: {enterprise id: ScoreBreakdown}. Unscoped — the caller
    passes ids it may show (or None for all)."""
    return _risk_scores(db=db, enterprise_ids=enterprise_ids, on=on)


def score_for(*, db: Session, actor: Actor, enterprise_id: int) -> ScoreBreakdown:
    from qorgau.registry.models import Enterprise

    actor.require(READ_SCORES)
    ent = db.get(Enterprise, enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise NotFound("enterprise not found")
    return _risk_scores(db=db, enterprise_ids=[enterprise_id])[enterprise_id]


@dataclass(frozen=True, slots=True)
class PlannedInspection:
    """One enterprise's place in a risk-based plan that has not been carried out yet."""

    plan_id: int
    authority: str
    period_start: date
    period_end: date
    rank: int


def open_violations_by_enterprise(
    *,
    db: Session,
    actor: Actor,
    enterprise_ids: Iterable[int] | None = None,
    region: str | None = None,
) -> dict[int, int]:
    """Open (not yet eliminated) violations per enterprise in the actor's scope:
    `{enterprise id: count}`; enterprises without one are absent."""
    actor.require(READ)
    stmt = scoped(
        select(Violation.enterprise_id, func.count()).where(Violation.state == "open"),
        Violation,
        actor,
    )
    if region is not None:
        stmt = stmt.where(Violation.region_code == region)
    if enterprise_ids is not None:
        stmt = stmt.where(Violation.enterprise_id.in_(list(enterprise_ids)))
    rows = db.execute(stmt.group_by(Violation.enterprise_id)).all()
    return {int(eid): int(n) for eid, n in rows}


def open_violations_by_region(*, db: Session, actor: Actor) -> dict[str, int]:
    """Open (not yet eliminated) violations per region in the actor's scope:
    `{region code: count}`; regions without one are absent (the map's choropleth)."""
    actor.require(READ)
    stmt = scoped(
        select(Violation.region_code, func.count()).where(Violation.state == "open"),
        Violation,
        actor,
    )
    return {str(r): int(n) for r, n in db.execute(stmt.group_by(Violation.region_code))}


def planned_inspections_by_enterprise(
    *,
    db: Session,
    actor: Actor,
    start: date,
    end: date,
    enterprise_ids: Iterable[int] | None = None,
    region: str | None = None,
) -> dict[int, list[PlannedInspection]]:
    """Plan items whose plan period overlaps `start..end` and that no submitted inspection has
    carried out yet, in the actor's scope: `{enterprise id: [PlannedInspection, ...]}`."""
    actor.require(READ)
    if start > end:
        raise RuleViolation("the range ends before it starts", field="end")
    done = exists().where(Inspection.plan_item_id == PlanItem.id)
    stmt = scoped(
        select(
            PlanItem.enterprise_id,
            PlanItem.plan_id,
            PlanItem.rank,
            InspectionPlan.authority,
            InspectionPlan.period_start,
            InspectionPlan.period_end,
        )
        .join(InspectionPlan, InspectionPlan.id == PlanItem.plan_id)
        .where(InspectionPlan.period_start <= end, InspectionPlan.period_end >= start, ~done),
        PlanItem,
        actor,
    )
    if region is not None:
        stmt = stmt.where(PlanItem.region_code == region)
    if enterprise_ids is not None:
        stmt = stmt.where(PlanItem.enterprise_id.in_(list(enterprise_ids)))
    out: dict[int, list[PlannedInspection]] = {}
    for r in db.execute(stmt.order_by(InspectionPlan.period_start, PlanItem.id)):
        out.setdefault(int(r.enterprise_id), []).append(
            PlannedInspection(r.plan_id, r.authority, r.period_start, r.period_end, r.rank)
        )
    return out


def list_plans(*, db: Session, actor: Actor) -> list[InspectionPlan]:
    actor.require(READ)
    stmt = scoped(select(InspectionPlan), InspectionPlan, actor).order_by(InspectionPlan.id.desc())
    return list(db.scalars(stmt.limit(100)))


def get_plan(*, db: Session, actor: Actor, plan_id: int) -> tuple[InspectionPlan, list[PlanItem]]:
    actor.require(READ)
    plan = db.get(InspectionPlan, plan_id)
    if plan is None or not in_scope(plan, actor):
        raise NotFound("plan not found")
    items = db.scalars(
        select(PlanItem).where(PlanItem.plan_id == plan.id).order_by(PlanItem.rank)
    ).all()
    return plan, list(items)


def run_daily(*, db: Session, on: date | None = None) -> dict[str, Any]:
    """Daily job: overdue examinations → violations; overdue prescriptions → events."""
    on = on or date.today()
    exams = hpf.sync_overdue_examinations(db=db, on=on)
    return {
        "overdue_exams_opened": exams["opened"],
        "prescriptions_overdue": enforcement.mark_overdue(db=db, on=on),
    }


def run_daily_job(on: date | None = None) -> dict[str, Any]:
    with get_sessionmaker()() as db:
        return run_daily(db=db, on=on)


def checklist_seed() -> list[dict[str, Any]]:
    raw = json.loads(
        files("qorgau.inspections").joinpath("data/checklists.json").read_text(encoding="utf-8")
    )
    return [
        {
            "checklist": r["checklist"],
            "code": r["code"],
            "norm": r["norm"],
            "weight": r["weight"],
            "text_kk": r["kk"],
            "text_ru": r["ru"],
            "text_en": r["en"],
        }
        for r in raw["items"]
    ]


def record_violation(
    *, db: Session, actor: Actor, enterprise_id: int, source: str, ref: str, norm: str,
    description: str, found_on: date, commit: bool = True,
) -> tuple[Violation, bool]:  # fmt: skip
    """A violation established outside an inspection (source e.g. "concealment", ref the case):
    (violation, created); the same source + ref is recorded once."""
    actor.require(RECORD_VIOLATION)
    from qorgau.registry import service as registry

    try:
        ent = registry.get_enterprise(db=db, actor=actor, enterprise_id=enterprise_id)
    except NotFound:
        raise RuleViolation("unknown enterprise", field="enterprise_id") from None
    earlier = db.scalars(
        select(Violation).where(
            Violation.enterprise_id == ent.id, Violation.source == source,
            Violation.item_code == ref,
        )
    ).first()  # fmt: skip
    if earlier is not None:
        return earlier, False
    v = Violation(
        enterprise_id=ent.id, region_code=ent.region_code, source=source, item_code=ref,
        norm=norm, description=description, found_on=found_on, created_by=actor.label,
    )  # fmt: skip
    db.add(v)
    db.flush()
    audit.record(db, actor=actor, action="violation.record", object_type="violation",
                 object_id=v.id, after={"source": source, "ref": ref, "norm": norm})  # fmt: skip
    events.emit(db, type="inspections.violation_recorded", object_type="violation",
                object_id=v.id, payload={"source": source, "ref": ref},
                region_code=ent.region_code, enterprise_id=ent.id)  # fmt: skip
    if commit:
        db.commit()
    return v, True
