"""Investigation workflow: commission → findings (coded causes, fault split) → signed act →
registered by the inspectorate. Each step is a small named function; each change is a revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.db import utcnow
from qorgau.core.errors import Forbidden, NotFound, RuleViolation
from qorgau.core.roles import Role
from qorgau.core.security import Actor
from qorgau.incidents import deadlines, revisions
from qorgau.incidents.constants import INVESTIGATE, MAX_EXTENSION_WORKING_DAYS, STATES
from qorgau.incidents.models import Accident, CorrectiveAction, Investigation, Victim
from qorgau.incidents.schemas import ActionIn, CommissionIn, ExtensionIn, FindingsIn
from qorgau.incidents.service import get_accident

INVESTIGATION_FIELDS = [
    "kind",
    "inspector_id",
    "commission",
    "findings",
    "causes",
    "fault_employer_pct",
    "fault_worker_pct",
    "extension_days",
    "extension_reason",
    "completed_at",
]


def get_investigation(*, db: Session, actor: Actor, accident_id: int) -> Investigation:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    inv = db.scalar(select(Investigation).where(Investigation.accident_id == accident_id))
    if inv is None:
        raise NotFound("investigation not found")
    return inv


def _load(db: Session, actor: Actor, accident_id: int) -> tuple[Accident, Investigation]:
    """The accident and its investigation, if the caller may act on it."""
    actor.require(INVESTIGATE)
    accident = get_accident(db=db, actor=actor, accident_id=accident_id)
    inv = get_investigation(db=db, actor=actor, accident_id=accident_id)
    if inv.kind == "special" and actor.role not in (Role.LABOUR_INSPECTOR, Role.ADMIN):
        raise Forbidden("a special investigation is led by the state labour inspector")
    return accident, inv


def move(accident: Accident, target: str) -> None:
    if target not in STATES.get(accident.state, ()):
        raise RuleViolation(f"cannot go from state {accident.state!r} to {target!r}", field="state")
    accident.state = target


def _revise(
    db: Session, actor: Actor, accident: Accident, inv: Investigation, reason: str, action: str
) -> None:
    before = revisions.last_snapshot(db, "investigation", inv.id)
    inv.revision = 1 if not before else inv.revision + 1
    snap = {**audit.snapshot(inv, INVESTIGATION_FIELDS), "state": accident.state}
    revisions.store_revision(
        db,
        actor=actor,
        accident=accident,
        object_type="investigation",
        object_id=inv.id,
        number=inv.revision,
        reason=reason,
        snapshot=snap,
    )
    audit.record(
        db,
        actor=actor,
        action=action,
        object_type="investigation",
        object_id=inv.id,
        before=before or None,
        after={**snap, "reason": reason},
    )


def form_commission(
    *, db: Session, actor: Actor, accident_id: int, data: CommissionIn
) -> Investigation:
    accident, inv = _load(db, actor, accident_id)
    if sum(m.chair for m in data.members) != 1:
        raise RuleViolation("the commission needs exactly one chair", field="members")
    move(accident, "commission_formed")
    move(accident, "investigating")
    now = utcnow()
    inv.commission = [m.model_dump() for m in data.members]
    deadlines.meet(db, accident.id, "commission", now)
    inspector = inv.inspector_id or _deadline_inspector(db, accident.id)
    deadlines.set_deadline(
        db, accident, "investigation", deadlines.investigation_due(now), inspector
    )
    _revise(db, actor, accident, inv, "commission formed", "investigation.commission")
    db.commit()
    return inv


def _deadline_inspector(db: Session, accident_id: int) -> int | None:
    from qorgau.incidents.models import Deadline

    return db.scalar(
        select(Deadline.inspector_id).where(
            Deadline.accident_id == accident_id, Deadline.kind == "report"
        )
    )


def extend(*, db: Session, actor: Actor, accident_id: int, data: ExtensionIn) -> Investigation:
    accident, inv = _load(db, actor, accident_id)
    if accident.state != "investigating":
        raise RuleViolation("only a running investigation can be extended", field="state")
    if inv.extension_days + data.working_days > MAX_EXTENSION_WORKING_DAYS:
        raise RuleViolation(
            f"extensions may total at most {MAX_EXTENSION_WORKING_DAYS} working days",
            field="working_days",
        )
    inv.extension_days += data.working_days
    inv.extension_reason = data.reason
    started = _commission_time(db, accident.id)
    row = deadlines.set_deadline(
        db,
        accident,
        "investigation",
        deadlines.investigation_due(started, inv.extension_days),
        _deadline_inspector(db, accident.id),
    )
    row.extended_reason = data.reason
    _revise(db, actor, accident, inv, f"extended: {data.reason}", "investigation.extend")
    db.commit()
    return inv


def _commission_time(db: Session, accident_id: int) -> Any:
    from qorgau.incidents.models import Deadline

    met = db.scalar(
        select(Deadline.met_at).where(
            Deadline.accident_id == accident_id, Deadline.kind == "commission"
        )
    )
    return met or utcnow()


def check_fault_split(data: FindingsIn) -> None:
    total = data.fault_employer_pct + data.fault_worker_pct
    if total != 100:
        raise RuleViolation(
            f"employer and worker fault must total 100 % (got {total} %)",
            field="fault_employer_pct",
        )


def record_findings(
    *, db: Session, actor: Actor, accident_id: int, data: FindingsIn
) -> Investigation:
    """First findings close the investigation; later calls are revisions with a reason."""
    check_fault_split(data)
    accident, inv = _load(db, actor, accident_id)
    first = accident.state == "investigating"
    if not first and accident.state not in ("findings_recorded", "act_signed"):
        raise RuleViolation("form the commission first", field="state")
    if accident.state != "findings_recorded":
        move(accident, "findings_recorded")
    now = utcnow()
    inv.findings, inv.causes = data.findings, list(data.causes)
    inv.fault_employer_pct, inv.fault_worker_pct = data.fault_employer_pct, data.fault_worker_pct
    _set_cause(db, accident, data.causes[0])
    if first:
        inv.completed_at = now
        deadlines.meet(db, accident.id, "investigation", now)
        deadlines.set_deadline(
            db, accident, "act", deadlines.act_due(now), _deadline_inspector(db, accident.id)
        )
    _revise(db, actor, accident, inv, data.reason, "investigation.findings")
    db.commit()
    return inv


def _set_cause(db: Session, accident: Accident, cause_code: str) -> None:
    """The main cause, copied onto victims so indicators group in one table."""
    accident.cause_code = cause_code
    db.execute(
        update(Victim).where(Victim.accident_id == accident.id).values(cause_code=cause_code)
    )


def add_action(*, db: Session, actor: Actor, accident_id: int, data: ActionIn) -> CorrectiveAction:
    accident, _inv = _load(db, actor, accident_id)
    row = CorrectiveAction(
        accident_id=accident.id,
        enterprise_id=accident.enterprise_id,
        region_code=accident.region_code,
        created_by=actor.label,
        **data.model_dump(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="accident.action.add",
        object_type="accident_action",
        object_id=row.id,
        after=data.model_dump(),
    )
    events.emit(
        db,
        type="accident.action_opened",
        object_type="accident_action",
        object_id=row.id,
        payload={**data.model_dump(), "accident_id": accident.id},
        region_code=accident.region_code,
        enterprise_id=accident.enterprise_id,
    )
    db.commit()
    return row


def complete_action(*, db: Session, actor: Actor, accident_id: int, action_id: int) -> Any:
    accident = get_accident(db=db, actor=actor, accident_id=accident_id)
    actor.require(INVESTIGATE)
    row = db.get(CorrectiveAction, action_id)
    if row is None or row.accident_id != accident.id:
        raise NotFound("action not found")
    if row.status == "done":
        raise RuleViolation("the action is already done", field="status")
    row.status, row.done_at = "done", utcnow()
    audit.record(
        db,
        actor=actor,
        action="accident.action.done",
        object_type="accident_action",
        object_id=row.id,
        after={"status": "done"},
    )
    db.commit()
    return row


def actions(*, db: Session, actor: Actor, accident_id: int) -> list[CorrectiveAction]:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    stmt = select(CorrectiveAction).where(CorrectiveAction.accident_id == accident_id)
    return list(db.scalars(stmt.order_by(CorrectiveAction.due_date)))
