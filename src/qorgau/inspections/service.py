"""Inspections operations other domains call (the map, indicators, the daily scheduler)."""

from __future__ import annotations

import json
from datetime import date
from importlib.resources import files
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core.db import get_sessionmaker
from qorgau.core.errors import NotFound
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.inspections import conduct, enforcement, hpf, planning
from qorgau.inspections.constants import READ, READ_SCORES
from qorgau.inspections.models import InspectionPlan, PlanItem
from qorgau.inspections.scoring import ScoreBreakdown
from qorgau.inspections.scoring import risk_scores as _risk_scores

# Re-exported operations (each lives in its own workflow module).
create_plan = planning.create_plan
set_capacity = planning.set_capacity
submit_inspection = conduct.submit
get_inspection = conduct.get_inspection
checklist = conduct.checklist
register_facility = hpf.register_facility
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
