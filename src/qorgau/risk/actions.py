"""Corrective and preventive actions (ISO 45001 10.2): owners, due dates, status, evidence
files, overdue escalation and links from accidents (root cause → action)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.core import audit, events, files
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.risk import permissions as perm
from qorgau.risk.constants import ActionStatus
from qorgau.risk.exceptions import ActionNotFound
from qorgau.risk.models import Action, Evidence, Hazard
from qorgau.risk.schemas import ActionIn

OPEN_STATUSES = (ActionStatus.OPEN.value, ActionStatus.IN_PROGRESS.value)
CLOSED_STATUSES = (ActionStatus.DONE.value, ActionStatus.VERIFIED.value)
# Evidence: documents and photos only; the content is sniffed, the extension must agree.
EVIDENCE_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/webp"}
EVIDENCE_MAX_BYTES = 5 * 1024 * 1024
ACTION_FIELDS = ["title", "owner", "due_date", "status", "accident_ref", "root_cause", "hazard_id"]


def create_action(
    *, db: Session, actor: Actor, data: ActionIn, today: date | None = None, commit: bool = True
) -> Action:
    ent = svc.enterprise_for_write(db, actor, data.enterprise_id)
    if data.due_date < (today or date.today()):
        raise RuleViolation("the due date is in the past", field="due_date")
    if data.hazard_id is not None:
        hazard = db.get(Hazard, data.hazard_id)
        if hazard is None or hazard.enterprise_id != ent.id:
            raise RuleViolation("unknown hazard", field="hazard_id")
    if data.root_cause and not data.accident_ref:
        raise RuleViolation("a root cause needs the accident it came from", field="accident_ref")
    row = Action(**data.model_dump(), region_code=ent.region_code, created_by=actor.label)
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.action.create",
        object_type="risk_action",
        object_id=row.id,
        after=audit.snapshot(row, ACTION_FIELDS),
    )
    if commit:
        db.commit()
    return row


def get_action(*, db: Session, actor: Actor, action_id: int) -> Action:
    actor.require(perm.READ)
    row = db.get(Action, action_id)
    if row is None or not in_scope(row, actor):
        raise ActionNotFound()
    return row


def list_actions(
    *,
    db: Session,
    actor: Actor,
    enterprise_id: int | None = None,
    status: str | None = None,
    overdue: bool = False,
) -> list[Action]:
    actor.require(perm.READ)
    stmt = scoped(select(Action), Action, actor)
    if enterprise_id is not None:
        stmt = stmt.where(Action.enterprise_id == enterprise_id)
    if status:
        stmt = stmt.where(Action.status == status)
    if overdue:
        stmt = stmt.where(Action.status.in_(OPEN_STATUSES), Action.due_date < date.today())
    return list(db.scalars(stmt.order_by(Action.due_date, Action.id)))


def set_action_status(*, db: Session, actor: Actor, action_id: int, status: str) -> Action:
    actor.require(perm.WRITE)
    row = get_action(db=db, actor=actor, action_id=action_id)
    if row.status in (ActionStatus.VERIFIED.value, ActionStatus.CANCELLED.value):
        raise Conflict(f"the action is already {row.status}")
    if status == ActionStatus.VERIFIED.value and row.status != ActionStatus.DONE.value:
        raise RuleViolation("only a done action can be verified as effective", field="status")
    before = audit.snapshot(row, ACTION_FIELDS)
    row.status = status
    if status in CLOSED_STATUSES and row.closed_on is None:
        row.closed_on = date.today()
    audit.record(
        db,
        actor=actor,
        action="risk.action.status",
        object_type="risk_action",
        object_id=row.id,
        before=before,
        after=audit.snapshot(row, ACTION_FIELDS),
    )
    db.commit()
    return row


def add_evidence(
    *, db: Session, actor: Actor, action_id: int, filename: str, content: bytes
) -> Evidence:
    actor.require(perm.WRITE)
    row = get_action(db=db, actor=actor, action_id=action_id)
    stored = files.store(
        content,
        filename,
        folder="risk/evidence",
        types=EVIDENCE_TYPES,
        max_bytes=EVIDENCE_MAX_BYTES,
        match_extension=True,
    )
    ev = Evidence(
        action_id=row.id,
        enterprise_id=row.enterprise_id,
        region_code=row.region_code,
        filename=stored.name,
        mime=stored.mime,
        size=stored.size,
        sha256=stored.sha256,
        path=stored.path,
        created_by=actor.label,
    )
    db.add(ev)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.evidence.add",
        object_type="risk_action",
        object_id=row.id,
        after={"file": stored.name, "sha256": stored.sha256, "mime": stored.mime},
    )
    db.commit()
    return ev


def get_evidence(*, db: Session, actor: Actor, evidence_id: int) -> Evidence:
    actor.require(perm.READ)
    ev = db.get(Evidence, evidence_id)
    if ev is None or not in_scope(ev, actor):
        raise NotFound("evidence not found")
    return ev


def overdue_actions(
    *, db: Session, actor: Actor | None = None, today: date | None = None
) -> list[Action]:
    """Open actions past their due date (all of them, or the actor's scope)."""
    stmt = select(Action).where(
        Action.status.in_(OPEN_STATUSES), Action.due_date < (today or date.today())
    )
    if actor is not None:
        stmt = scoped(stmt, Action, actor)
    return list(db.scalars(stmt.order_by(Action.due_date, Action.id)))


def escalate_overdue(*, db: Session, today: date | None = None) -> int:
    """Emit `risk.action.overdue` once per overdue action (the inspectorate subscribes)."""
    n = 0
    for row in overdue_actions(db=db, today=today):
        if row.escalated_at is not None:
            continue
        row.escalated_at = utcnow()
        events.emit(
            db,
            type="risk.action.overdue",
            object_type="risk_action",
            object_id=row.id,
            payload={
                "title": row.title,
                "owner": row.owner,
                "due_date": row.due_date,
                "accident_ref": row.accident_ref,
            },
            region_code=row.region_code,
            enterprise_id=row.enterprise_id,
        )
        n += 1
    db.commit()
    return n


def actions_for_accident(*, db: Session, accident_ref: str) -> list[Action]:
    """Actions raised from an accident's root causes (for the accidents domain)."""
    return list(
        db.scalars(select(Action).where(Action.accident_ref == accident_ref).order_by(Action.id))
    )
