"""Carrying out an inspection: checklist answers (sent once, even if re-sent) → violations →
prescriptions with deadlines; a follow-up inspection decides a prescription."""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qorgau.core import audit, files
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.events import emit
from qorgau.core.security import Actor, in_scope
from qorgau.inspections.constants import AUTHORITY_OF_ROLE, CONDUCT, MAX_PHOTO_BYTES, PHOTO_TYPES
from qorgau.inspections.exceptions import BatchRejected, RowError
from qorgau.inspections.models import (
    ChecklistItem,
    Inspection,
    InspectionAnswer,
    PlanItem,
    Prescription,
    Violation,
)
from qorgau.inspections.schemas import AnswerIn, SubmissionIn
from qorgau.registry.models import Enterprise


def checklist(*, db: Session, name: str) -> list[ChecklistItem]:
    return list(
        db.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.checklist == name)
            .order_by(ChecklistItem.code)
        )
    )


def _photo(p: Any, i: int) -> dict[str, Any]:
    try:
        content = base64.b64decode(p.data_base64.split(",", 1)[-1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BatchRejected([RowError(i, "photos", "not base64")], collection="answers") from exc
    try:
        stored = files.store(
            content,
            p.name,
            folder="files/inspections",
            types=PHOTO_TYPES,
            field="photos",
            max_bytes=MAX_PHOTO_BYTES,
        )
    except RuleViolation as exc:
        raise BatchRejected([RowError(i, "photos", exc.message)], collection="answers") from exc
    return stored.as_dict()


def _check_answers(
    items: dict[str, ChecklistItem], answers: list[AnswerIn], authority: str
) -> None:
    errors, seen = [], set()
    for i, a in enumerate(answers):
        if a.item_code not in items:
            errors.append(
                RowError(i, "item_code", f"item {a.item_code} is not in the {authority} checklist")
            )
        elif a.item_code in seen:
            errors.append(RowError(i, "item_code", f"item {a.item_code} answered twice"))
        seen.add(a.item_code)
    if errors:
        raise BatchRejected(errors, collection="answers")


def _context(
    db: Session, actor: Actor, data: SubmissionIn
) -> tuple[Enterprise, Prescription | None]:
    ent = db.get(Enterprise, data.enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise RuleViolation("unknown enterprise", field="enterprise_id")
    if data.plan_item_id is not None:
        item = db.get(PlanItem, data.plan_item_id)
        if item is None or item.enterprise_id != ent.id:
            raise RuleViolation("plan item of another enterprise", field="plan_item_id")
    presc = None
    if data.follow_up_of is not None:
        presc = db.get(Prescription, data.follow_up_of)
        if presc is None or presc.enterprise_id != ent.id or presc.state not in ("open", "overdue"):
            raise RuleViolation("no open prescription to follow up", field="follow_up_of")
    if data.finished_at < data.started_at:
        raise RuleViolation("finished before it started", field="finished_at")
    return ent, presc


def _existing(db: Session, actor: Actor, client_uuid: str) -> Inspection | None:
    found = db.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid.lower()))
    if found is not None and not in_scope(found, actor):
        raise RuleViolation("this submission id is taken", field="client_uuid")
    return found


def _violate(db: Session, insp: Inspection, item: ChecklistItem, a: AnswerIn) -> Violation:
    day = insp.finished_at.date()
    v = Violation(
        enterprise_id=insp.enterprise_id,
        region_code=insp.region_code,
        inspection_id=insp.id,
        item_code=item.code,
        norm=item.norm,
        description=a.note or item.text_en,
        found_on=day,
        created_by=insp.created_by,
    )
    db.add(v)
    db.flush()
    p = Prescription(
        violation_id=v.id,
        enterprise_id=v.enterprise_id,
        region_code=v.region_code,
        issued_on=day,
        due_date=day + timedelta(days=a.due_days),
        created_by=insp.created_by,
    )
    db.add(p)
    db.flush()
    emit(
        db,
        type="prescription.issued",
        object_type="prescription",
        object_id=p.id,
        payload={"norm": item.norm, "due": p.due_date.isoformat(), "item": item.code},
        region_code=p.region_code,
        enterprise_id=p.enterprise_id,
    )
    return v


def _decide_follow_up(
    db: Session, presc: Prescription, answers: dict[str, str], insp: Inspection
) -> None:
    violation = db.get(Violation, presc.violation_id)
    assert violation is not None
    result = answers.get(violation.item_code)
    if result == "ok":
        presc.state, violation.state = "complied", "eliminated"
        violation.closed_on = insp.finished_at.date()
    elif result == "violation":
        presc.state = "not_complied"


def submit(*, db: Session, actor: Actor, data: SubmissionIn) -> tuple[Inspection, int, bool]:
    """Store one inspection. Returns (inspection, violations found, was it a re-send)."""
    actor.require(CONDUCT)
    found = _existing(db, actor, data.client_uuid)
    if found is not None:
        n = len(db.scalars(select(Violation.id).where(Violation.inspection_id == found.id)).all())
        return found, n, True
    authority = AUTHORITY_OF_ROLE[actor.role]
    items = {i.code: i for i in checklist(db=db, name=authority)}
    _check_answers(items, data.answers, authority)
    ent, presc = _context(db, actor, data)
    photos = {i: [_photo(p, i) for p in a.photos] for i, a in enumerate(data.answers)}
    insp = Inspection(
        client_uuid=data.client_uuid.lower(),
        enterprise_id=ent.id,
        region_code=ent.region_code,
        authority=authority,
        kind="follow_up" if presc else "planned" if data.plan_item_id else "unscheduled",
        plan_item_id=data.plan_item_id,
        follow_up_of=presc.id if presc else None,
        inspector_id=actor.id,
        started_at=data.started_at,
        finished_at=data.finished_at,
        note=data.note,
        created_by=actor.label,
    )
    db.add(insp)
    try:
        db.flush()
    except IntegrityError:  # the same submission arrived twice at once
        db.rollback()
        again = _existing(db, actor, data.client_uuid)
        assert again is not None
        return again, 0, True
    violations = 0
    for i, a in enumerate(data.answers):
        db.add(
            InspectionAnswer(
                inspection_id=insp.id,
                enterprise_id=ent.id,
                region_code=ent.region_code,
                item_code=a.item_code,
                result=a.result,
                note=a.note,
                photos=photos[i],
            )
        )
        if a.result == "violation" and not (presc and a.item_code == _item_of(db, presc)):
            _violate(db, insp, items[a.item_code], a)
            violations += 1
    if presc:
        _decide_follow_up(db, presc, {a.item_code: a.result for a in data.answers}, insp)
    audit.record(
        db,
        actor=actor,
        action="inspections.inspection.submit",
        object_type="inspection",
        object_id=insp.id,
        after={
            "enterprise": ent.id,
            "answers": len(data.answers),
            "violations": violations,
            "client_uuid": insp.client_uuid,
        },
    )
    emit(
        db,
        type="inspection.completed",
        object_type="inspection",
        object_id=insp.id,
        payload={"authority": authority, "violations": violations, "kind": insp.kind},
        region_code=ent.region_code,
        enterprise_id=ent.id,
    )
    db.commit()
    return insp, violations, False


def _item_of(db: Session, presc: Prescription) -> str:
    v = db.get(Violation, presc.violation_id)
    return v.item_code if v else ""


def get_inspection(*, db: Session, actor: Actor, inspection_id: int) -> dict[str, Any]:
    insp = db.get(Inspection, inspection_id)
    if insp is None or not in_scope(insp, actor):
        raise NotFound("inspection not found")
    answers = db.scalars(
        select(InspectionAnswer)
        .where(InspectionAnswer.inspection_id == insp.id)
        .order_by(InspectionAnswer.item_code)
    ).all()
    violations = db.scalars(select(Violation).where(Violation.inspection_id == insp.id)).all()
    prescriptions = db.scalars(
        select(Prescription).where(Prescription.violation_id.in_([v.id for v in violations]))
    ).all()
    return {
        "inspection": insp,
        "answers": answers,
        "violations": violations,
        "prescriptions": prescriptions,
    }
