"""Risk-based plans: rank the region's candidates by score and keep as many as capacity allows."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.errors import Forbidden, RuleViolation
from qorgau.core.events import emit
from qorgau.core.security import Actor
from qorgau.inspections.constants import AUTHORITY_OF_ROLE, PLAN
from qorgau.inspections.models import (
    HazardousFacility,
    InspectionPlan,
    InspectorateCapacity,
    PlanItem,
)
from qorgau.inspections.schemas import PlanIn
from qorgau.inspections.scoring import risk_scores, weights
from qorgau.registry.models import Enterprise


def months_in(start: date, end: date) -> int:
    return max(1, (end.year - start.year) * 12 + end.month - start.month + 1)


def capacity(db: Session, region: str, authority: str, start: date, end: date) -> int:
    row = db.get(InspectorateCapacity, (region, authority))
    per_month = row.per_month if row else weights()["capacity_per_month"][authority]
    return per_month * months_in(start, end)


def set_capacity(
    *, db: Session, actor: Actor, region: str, authority: str, per_month: int
) -> InspectorateCapacity:
    actor.require(PLAN)
    if actor.reach.value == "region" and actor.region != region:
        raise Forbidden("another region's inspectorate")
    row = db.get(InspectorateCapacity, (region, authority))
    before = row.per_month if row else None
    if row is None:
        row = InspectorateCapacity(region_code=region, authority=authority, per_month=per_month)
        db.add(row)
    row.per_month = per_month
    audit.record(
        db,
        actor=actor,
        action="inspections.capacity.set",
        object_type="capacity",
        object_id=f"{region}/{authority}",
        before={"per_month": before},
        after={"per_month": per_month},
    )
    db.commit()
    return row


def candidates(db: Session, region: str, authority: str) -> list[int] | None:
    """Industrial-safety plans consider only enterprises with HPFs (or flagged hazardous)."""
    if authority == "labour":
        return None
    with_hpf = set(
        db.scalars(
            select(HazardousFacility.enterprise_id).where(HazardousFacility.region_code == region)
        )
    )
    flagged = set(
        db.scalars(
            select(Enterprise.id).where(Enterprise.region_code == region, Enterprise.hazardous)
        )
    )
    return sorted(with_hpf | flagged)


def rank(db: Session, region: str, authority: str, on: date) -> list[tuple[int, float, Any]]:
    ids = candidates(db, region, authority)
    scores = risk_scores(
        db=db, enterprise_ids=ids if ids is not None else None, on=on, region=region
    )
    ranked = sorted(scores.values(), key=lambda b: (-b.total, b.enterprise_id))
    return [(b.enterprise_id, b.total, b.as_list()) for b in ranked]


def _resolve(actor: Actor, data: PlanIn) -> tuple[str, str]:
    actor.require(PLAN)
    own = AUTHORITY_OF_ROLE.get(actor.role)
    if own is not None and own != data.authority:
        raise RuleViolation(f"your inspectorate plans {own} inspections", field="authority")
    region = actor.region if actor.reach.value == "region" else data.region_code
    if not region:
        raise RuleViolation("region_code is required", field="region_code")
    return region, data.authority


def create_plan(*, db: Session, actor: Actor, data: PlanIn) -> InspectionPlan:
    region, authority = _resolve(actor, data)
    cap = capacity(db, region, authority, data.period_start, data.period_end)
    ranked = rank(db, region, authority, data.period_start)
    plan = InspectionPlan(
        region_code=region,
        authority=authority,
        period_start=data.period_start,
        period_end=data.period_end,
        capacity=cap,
        candidates=len(ranked),
        created_by=actor.label,
    )
    db.add(plan)
    db.flush()
    for i, (eid, score, reasons) in enumerate(ranked[:cap], start=1):
        item = PlanItem(
            plan_id=plan.id,
            enterprise_id=eid,
            region_code=region,
            rank=i,
            score=score,
            reasons=json.loads(json.dumps(reasons)),
        )
        db.add(item)
        db.flush()
        emit(
            db,
            type="inspection.planned",
            object_type="inspection_plan_item",
            object_id=item.id,
            payload={
                "plan": plan.id,
                "authority": authority,
                "rank": i,
                "score": score,
                "period": [data.period_start.isoformat(), data.period_end.isoformat()],
            },
            region_code=region,
            enterprise_id=eid,
        )
    audit.record(
        db,
        actor=actor,
        action="inspections.plan.create",
        object_type="inspection_plan",
        object_id=plan.id,
        after={
            "region": region,
            "authority": authority,
            "capacity": cap,
            "planned": min(cap, len(ranked)),
        },
    )
    db.commit()
    return plan
