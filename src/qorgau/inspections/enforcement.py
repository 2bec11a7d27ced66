"""After an inspection: overdue prescriptions (events), fines and appeals."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.events import emit
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.inspections.constants import APPEAL, ENFORCE, READ
from qorgau.inspections.models import Appeal, Fine, Prescription, Violation
from qorgau.inspections.schemas import AppealIn, DecisionIn, FineIn


def mark_overdue(*, db: Session, on: date) -> int:
    """Daily: open prescriptions past their deadline become overdue, one event each."""
    due = db.scalars(
        select(Prescription).where(Prescription.state == "open", Prescription.due_date < on)
    ).all()
    for p in due:
        p.state, p.overdue_since = "overdue", on
        emit(
            db,
            type="prescription.overdue",
            object_type="prescription",
            object_id=p.id,
            payload={"due": p.due_date.isoformat(), "violation": p.violation_id},
            region_code=p.region_code,
            enterprise_id=p.enterprise_id,
        )
    db.commit()
    return len(due)


def list_prescriptions(
    *,
    db: Session,
    actor: Actor,
    params: PageParams,
    state: str | None = None,
    enterprise_id: int | None = None,
) -> tuple[list[Prescription], int]:
    actor.require(READ)
    stmt = scoped(select(Prescription), Prescription, actor).order_by(Prescription.due_date)
    if state:
        stmt = stmt.where(Prescription.state == state)
    if enterprise_id:
        stmt = stmt.where(Prescription.enterprise_id == enterprise_id)
    return paginate(db, stmt, params)


def impose_fine(*, db: Session, actor: Actor, violation_id: int, data: FineIn) -> Fine:
    actor.require(ENFORCE)
    v = db.get(Violation, violation_id)
    if v is None or not in_scope(v, actor):
        raise NotFound("violation not found")
    if data.imposed_on < v.found_on:
        raise RuleViolation("a fine cannot precede the violation", field="imposed_on")
    fine = Fine(
        violation_id=v.id,
        enterprise_id=v.enterprise_id,
        region_code=v.region_code,
        created_by=actor.label,
        **data.model_dump(),
    )
    db.add(fine)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="inspections.fine.impose",
        object_type="fine",
        object_id=fine.id,
        after=data.model_dump(),
    )
    emit(
        db,
        type="fine.imposed",
        object_type="fine",
        object_id=fine.id,
        payload={"amount": str(fine.amount), "basis": fine.legal_basis},
        region_code=fine.region_code,
        enterprise_id=fine.enterprise_id,
    )
    db.commit()
    return fine


def file_appeal(*, db: Session, actor: Actor, fine_id: int, data: AppealIn) -> Appeal:
    actor.require(APPEAL)
    fine = db.get(Fine, fine_id)
    if fine is None or not in_scope(fine, actor):
        raise NotFound("fine not found")
    if data.filed_on < fine.imposed_on:
        raise RuleViolation("an appeal cannot precede the fine", field="filed_on")
    appeal = Appeal(
        fine_id=fine.id,
        enterprise_id=fine.enterprise_id,
        region_code=fine.region_code,
        created_by=actor.label,
        **data.model_dump(),
    )
    db.add(appeal)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="inspections.appeal.file",
        object_type="fine_appeal",
        object_id=appeal.id,
        after=data.model_dump(),
    )
    db.commit()
    return appeal


def decide_appeal(*, db: Session, actor: Actor, appeal_id: int, data: DecisionIn) -> Appeal:
    actor.require(ENFORCE)
    appeal = db.get(Appeal, appeal_id)
    if appeal is None or not in_scope(appeal, actor):
        raise NotFound("appeal not found")
    if appeal.decision != "pending":
        raise RuleViolation("the appeal is already decided", field="decision")
    appeal.decision, appeal.decided_on = data.decision, data.decided_on
    audit.record(
        db,
        actor=actor,
        action="inspections.appeal.decide",
        object_type="fine_appeal",
        object_id=appeal.id,
        before={"decision": "pending"},
        after=data.model_dump(),
    )
    db.commit()
    return appeal
