"""Vision Zero self-checks, OSH maturity index and instruction tied to risks."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.core import audit
from qorgau.core.errors import Forbidden, RuleViolation
from qorgau.core.roles import Role
from qorgau.core.security import Actor
from qorgau.registry.models import Employment, Worker
from qorgau.registry.service import active_on
from qorgau.risk import lagging, workers
from qorgau.risk import permissions as perm
from qorgau.risk.content import osh_maturity_index, score_vision_zero
from qorgau.risk.exceptions import as_violation
from qorgau.risk.methods import RiskInputError
from qorgau.risk.models import Action, Hazard, Instruction, VisionZeroCheck
from qorgau.risk.schemas import InstructionIn, VisionZeroIn

# --- Vision Zero -------------------------------------------------------------------------------


def submit_vision_zero(*, db: Session, actor: Actor, data: VisionZeroIn) -> VisionZeroCheck:
    ent = svc.enterprise_for_write(db, actor, data.enterprise_id)
    on = data.on_date or date.today()
    if on > date.today():
        raise RuleViolation("the self-check date is in the future", field="on_date")
    try:
        result = score_vision_zero(data.answers)
    except RiskInputError as exc:
        raise as_violation(exc) from None
    rules = {
        k: {"pct": r.pct, "answered": r.answered, "total": r.total} for k, r in result.rules.items()
    }
    row = VisionZeroCheck(
        enterprise_id=ent.id,
        region_code=ent.region_code,
        on_date=on,
        answers=dict(data.answers),
        rules=rules,
        total_pct=result.total_pct,
        created_by=actor.label,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.vision_zero.submit",
        object_type="risk_vision_zero",
        object_id=row.id,
        after={"on": on, "total_pct": result.total_pct},
    )
    db.commit()
    return row


def vision_zero_trend(*, db: Session, actor: Actor, enterprise_id: int) -> list[VisionZeroCheck]:
    svc.enterprise_for_read(db, actor, enterprise_id)
    stmt = select(VisionZeroCheck).where(VisionZeroCheck.enterprise_id == enterprise_id)
    return list(db.scalars(stmt.order_by(VisionZeroCheck.on_date, VisionZeroCheck.id)))


# --- instruction tied to risks -----------------------------------------------------------------


def instructed_hazards(db: Session, enterprise_id: int) -> list[Hazard]:
    """Hazards whose current assessment has at least one control requiring instruction."""
    return [
        a.hazard
        for a in svc.current_assessments(db, None, [enterprise_id])
        if any(c.requires_instruction for c in a.controls)
    ]


def _confirming_worker(db: Session, actor: Actor, hazard: Hazard, worker_id: int | None) -> Worker:
    """A worker account confirms for its own linked worker and only a hazard of their work;
    the OSH officer names the worker they record it for."""
    if actor.role == Role.WORKER:
        worker = workers.worker_of(db, actor)
        if worker is None:
            raise RuleViolation(
                "this account is not linked to a worker record; ask the OSH officer",
                field="worker_id",
            )
        if worker_id is not None and worker_id != worker.id:
            raise Forbidden("a worker confirms only their own instruction", field="worker_id")
        if not workers.exposed_to(db, worker, hazard, date.today()):
            raise RuleViolation("this hazard is not part of your work", field="hazard_id")
        return worker
    if worker_id is None:
        raise RuleViolation("name the worker the confirmation is for", field="worker_id")
    found = db.get(Worker, worker_id)
    if found is None or found.enterprise_id != hazard.enterprise_id:
        raise RuleViolation("the worker is not employed by this enterprise", field="worker_id")
    return found


def confirm_instruction(*, db: Session, actor: Actor, data: InstructionIn) -> Instruction:
    """A worker confirms "read and understood" (or the OSH officer records it on their behalf)."""
    actor.require(perm.CONFIRM)
    try:
        hazard = svc.get_hazard(db=db, actor=actor, hazard_id=data.hazard_id)
    except Exception:
        raise RuleViolation("unknown hazard", field="hazard_id") from None
    worker = _confirming_worker(db, actor, hazard, data.worker_id)
    on = data.confirmed_on or date.today()
    if on > date.today():
        raise RuleViolation("the confirmation date is in the future", field="confirmed_on")
    if actor.role == Role.WORKER and on != date.today():
        raise RuleViolation("a worker confirms with today's date", field="confirmed_on")
    row = Instruction(
        enterprise_id=hazard.enterprise_id,
        region_code=hazard.region_code,
        hazard_id=hazard.id,
        worker_id=worker.id,
        confirmed_on=on,
        expires_on=svc.add_months(on, data.valid_months),
        on_behalf=actor.role != Role.WORKER,
        created_by=actor.label,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.instruction.confirm",
        object_type="risk_instruction",
        object_id=row.id,
        after={
            "hazard": hazard.id,
            "worker": worker.id,
            "on": on,
            "expires": row.expires_on,
            "on_behalf": row.on_behalf,
        },
    )
    db.commit()
    return row


def _exposed_workers(db: Session, hazard: Hazard, today: date) -> list[tuple[int, str, str]]:
    """(worker id, name, occupation) with a contract in force at the enterprise; a hazard tied
    to an occupation exposes only that occupation."""
    stmt = (
        select(Worker.id, Worker.last_name, Worker.first_name, Employment.occupation)
        .join(Employment, Employment.worker_id == Worker.id)
        .where(Employment.enterprise_id == hazard.enterprise_id, active_on(today))
    )
    if hazard.occupation:
        stmt = stmt.where(func.lower(Employment.occupation) == hazard.occupation.lower())
    return [(wid, f"{last} {first}", occ) for wid, last, first, occ in db.execute(stmt).all()]


def instruction_gap(
    *, db: Session, actor: Actor, enterprise_id: int, today: date | None = None
) -> dict[str, Any]:
    """Who works at a risk requiring instruction without a current confirmation."""
    svc.enterprise_for_read(db, actor, enterprise_id)
    today = today or date.today()
    current = {
        (w, h)
        for w, h in db.execute(
            select(Instruction.worker_id, Instruction.hazard_id).where(
                Instruction.enterprise_id == enterprise_id, Instruction.expires_on >= today
            )
        ).all()
    }
    gaps, required = [], 0
    for hazard in instructed_hazards(db, enterprise_id):
        for wid, name, occ in _exposed_workers(db, hazard, today):
            required += 1
            if (wid, hazard.id) not in current:
                gaps.append(
                    {
                        "worker_id": wid,
                        "worker": name,
                        "occupation": occ,
                        "hazard_id": hazard.id,
                        "hazard": hazard.description[:120],
                    }
                )
    pct = 100.0 if required == 0 else round(100 * (required - len(gaps)) / required, 1)
    return {"required": required, "missing": len(gaps), "current_pct": pct, "gaps": gaps[:500]}


# --- OSH maturity ------------------------------------------------------------------------------


def _actions_on_time_pct(db: Session, enterprise_id: int, today: date) -> float:
    rows = db.execute(
        select(Action.status, Action.due_date, Action.closed_on).where(
            Action.enterprise_id == enterprise_id, Action.status != "cancelled"
        )
    ).all()
    due = [r for r in rows if r.due_date < today or r.closed_on is not None]
    if not due:
        return 100.0
    ok = sum(1 for r in due if r.closed_on is not None and r.closed_on <= r.due_date)
    return round(100 * ok / len(due), 1)


def assessments_current_pct(db: Session, enterprise_id: int, today: date) -> float:
    rows = svc.current_assessments(db, None, [enterprise_id])
    if not rows:
        return 0.0
    ok = sum(1 for r in rows if r.status == "signed" and r.review_due and r.review_due >= today)
    return round(100 * ok / len(rows), 1)


def maturity(
    *, db: Session, actor: Actor, enterprise_id: int, today: date | None = None
) -> dict[str, Any]:
    svc.enterprise_for_read(db, actor, enterprise_id)
    today = today or date.today()
    checks = vision_zero_trend(db=db, actor=actor, enterprise_id=enterprise_id)
    vz = checks[-1].total_pct if checks and checks[-1].total_pct is not None else 0.0
    lti = lagging.ltifr(db, enterprise_id, today)
    nm = lagging.near_miss_rate(db, enterprise_id, today)
    ltifr, sector_ltifr = lti["ltifr"], lti["sector_ltifr"]
    near_miss = nm["near_miss_rate_per_100"]
    has_register = bool(svc.current_assessments(db, None, [enterprise_id]))
    inputs = {
        "vision_zero_pct": vz,
        "assessments_current_pct": assessments_current_pct(db, enterprise_id, today),
        "actions_on_time_pct": _actions_on_time_pct(db, enterprise_id, today),
        "training_current_pct": instruction_gap(
            db=db, actor=actor, enterprise_id=enterprise_id, today=today
        )["current_pct"],
    }
    if not has_register:  # nothing assessed: no actions or instruction can be "on time"
        inputs["actions_on_time_pct"] = inputs["training_current_pct"] = 0.0
    unavailable = [k for k, v in {"ltifr": ltifr, "near_miss_rate": near_miss}.items() if v is None]
    # Missing lagging data (no hours recorded, no headcount) is scored neutrally (sector
    # average, zero near-miss reporting) and flagged, so the index is never presented as
    # complete when it is not. A sector with no lost-time injury at all gives the reference 1.0:
    # the enterprise, part of that sector, then has none either and scores 100.
    index, components = osh_maturity_index(
        **inputs,
        near_miss_rate_per_100=near_miss or 0.0,
        ltifr=ltifr if ltifr is not None else 1.0,
        sector_ltifr=sector_ltifr if ltifr is not None and sector_ltifr else 1.0,
    )
    return {
        "index": index,
        "components": components,
        "inputs": inputs,
        "ltifr": ltifr,
        "near_miss_rate_per_100": near_miss,
        "lagging": {**lti, **nm},
        "unavailable": unavailable,
    }
