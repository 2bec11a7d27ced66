"""Review triggers (ISO 45001 6.1.2): a signed revision is never changed; a manual review, an
accident at the site or a passed review date opens the next revision as a draft copy of it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.errors import Conflict
from qorgau.core.security import SYSTEM_ACTOR, Actor
from qorgau.risk import permissions as perm
from qorgau.risk.models import Assessment, Hazard
from qorgau.risk.register import current_assessments, get_assessment, new_control


def _reopen(db: Session, actor: Actor, signed: Assessment, trigger: str, note: str) -> Assessment:
    """The next revision starts as a copy of the signed one; the signed row stays as it was."""
    new = Assessment(
        hazard_id=signed.hazard_id,
        enterprise_id=signed.enterprise_id,
        region_code=signed.region_code,
        revision=signed.revision + 1,
        status="draft",
        method=signed.method,
        initial=signed.initial,
        residual=signed.residual,
        initial_score=signed.initial_score,
        initial_band=signed.initial_band,
        residual_score=signed.residual_score,
        residual_band=signed.residual_band,
        current_band=signed.current_band,
        method_band=signed.method_band,
        acceptable=signed.acceptable,
        residual_reason=signed.residual_reason,
        flags=list(signed.flags),
        review_due=signed.review_due,
        trigger=trigger,
        trigger_note=note,
        created_by=actor.label,
    )
    new.controls = [
        new_control(new, c.level, c.text, c.requires_instruction) for c in signed.controls
    ]
    db.add(new)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.assessment.reopen",
        object_type="risk_assessment",
        object_id=new.id,
        after={"from": signed.id, "trigger": trigger, "note": note},
    )
    events.emit(
        db,
        type="risk.assessment.reopened",
        object_type="risk_assessment",
        object_id=new.id,
        payload={"trigger": trigger, "note": note, "from": signed.id},
        region_code=new.region_code,
        enterprise_id=new.enterprise_id,
    )
    return new


def latest_of(db: Session, hazard_id: int) -> Assessment | None:
    return db.scalar(
        select(Assessment)
        .where(Assessment.hazard_id == hazard_id)
        .order_by(Assessment.revision.desc())
        .limit(1)
    )


def review_assessment(
    *, db: Session, actor: Actor, assessment_id: int, trigger: str, note: str = ""
) -> Assessment:
    actor.require(perm.WRITE)
    row = get_assessment(db=db, actor=actor, assessment_id=assessment_id)
    latest = latest_of(db, row.hazard_id)
    if latest is None or latest.id != row.id:
        raise Conflict("only the latest revision can be reviewed")
    if row.status != "signed":
        raise Conflict("this revision is still a draft: edit it and sign it")
    new = _reopen(db, actor, row, trigger, note)
    db.commit()
    return new


def on_accident(
    *, db: Session, enterprise_id: int, site_id: int | None, accident_ref: str, commit: bool = True
) -> list[int]:
    """Review trigger for the accidents domain: reopen every signed current assessment of the
    site (or of the whole enterprise when no site is known). Returns the new revision ids."""
    stmt = select(Hazard).where(Hazard.enterprise_id == enterprise_id, Hazard.active.is_(True))
    if site_id is not None:
        stmt = stmt.where((Hazard.site_id == site_id) | Hazard.site_id.is_(None))
    opened: list[int] = []
    for hazard in db.scalars(stmt):
        latest = latest_of(db, hazard.id)
        if latest is not None and latest.status == "signed":
            opened.append(_reopen(db, SYSTEM_ACTOR, latest, "accident", accident_ref).id)
    if commit:
        db.commit()
    return opened


def reopen_overdue_reviews(*, db: Session, today: date | None = None) -> list[int]:
    """Periodic trigger: signed latest revisions past their review date get a new draft."""
    today = today or date.today()
    opened = []
    for row in current_assessments(db, None):
        if row.status == "signed" and row.review_due and row.review_due < today:
            opened.append(_reopen(db, SYSTEM_ACTOR, row, "periodic", str(row.review_due)).id)
    db.commit()
    return opened
