"""Risk register operations: settings, hazards, assessment revisions, controls, sign-off and
risk levels (re-exported by service.py); review triggers that open new revisions are in
reviews.py."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.security import Actor, in_scope, scoped
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise
from qorgau.risk import permissions as perm
from qorgau.risk.constants import Method, RiskBand, Sector
from qorgau.risk.exceptions import AssessmentNotFound, HazardNotFound, as_violation
from qorgau.risk.methods import (
    AcceptanceCriteria,
    AssessmentResult,
    RiskInputError,
    assess,
    control_adequacy,
    residual_higher_requires_reason,
)
from qorgau.risk.models import Assessment, Control, Hazard, RiskSettings
from qorgau.risk.schemas import AssessmentIn, AssessmentPatch, ControlIn, HazardIn, SettingsIn

OKED_SECTOR = {
    "B": Sector.MINING,
    "F": Sector.CONSTRUCTION,
    "C": Sector.MANUFACTURING,
    "D": Sector.ENERGY,
    "H": Sector.TRANSPORT,
}
BAND_ORDER = [b.value for b in RiskBand]
ASSESSMENT_FIELDS = ["hazard_id", "revision", "status", "method", "initial", "residual"]
ASSESSMENT_FIELDS += ["current_band", "flags", "review_due", "signed_by", "trigger"]


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


# --- enterprise and settings -------------------------------------------------------------------


def enterprise_for_write(db: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    actor.require(perm.WRITE)
    ent = db.get(Enterprise, enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise RuleViolation("unknown enterprise", field="enterprise_id")
    return ent


def enterprise_for_read(db: Session, actor: Actor, enterprise_id: int) -> Enterprise:
    actor.require(perm.READ)
    ent = db.get(Enterprise, enterprise_id)
    if ent is None or not in_scope(ent, actor):
        raise NotFound("enterprise not found")
    return ent


def settings_of(db: Session, enterprise_id: int) -> RiskSettings:
    row = db.get(RiskSettings, enterprise_id)
    if row is None:  # unsaved defaults: 5×5, default criteria, yearly review
        ent = db.get(Enterprise, enterprise_id)
        row = RiskSettings(
            enterprise_id=enterprise_id,
            region_code=ent.region_code if ent else "",
            method=Method.MATRIX_5X5.value,
            criteria={},
            review_months=12,
        )
    return row


def criteria_of(row: RiskSettings) -> AcceptanceCriteria:
    c = dict(row.criteria or {})
    if "acceptable_bands" in c:
        c["acceptable_bands"] = frozenset(RiskBand(b) for b in c["acceptable_bands"])
    return AcceptanceCriteria(**c)


def get_settings(*, db: Session, actor: Actor, enterprise_id: int) -> RiskSettings:
    enterprise_for_read(db, actor, enterprise_id)
    return settings_of(db, enterprise_id)


def save_settings(
    *, db: Session, actor: Actor, enterprise_id: int, data: SettingsIn
) -> RiskSettings:
    ent = enterprise_for_write(db, actor, enterprise_id)
    crit = data.model_dump(exclude={"method", "review_months"})
    try:
        criteria_of(RiskSettings(criteria=crit))
    except RiskInputError as exc:
        raise as_violation(exc) from None
    row = db.get(RiskSettings, enterprise_id)
    before = None if row is None else {"method": row.method, "criteria": row.criteria}
    if row is None:
        row = RiskSettings(enterprise_id=ent.id, region_code=ent.region_code)
        db.add(row)
    row.method, row.criteria, row.review_months = data.method.value, crit, data.review_months
    audit.record(
        db,
        actor=actor,
        action="risk.settings.save",
        object_type="risk_settings",
        object_id=ent.id,
        before=before,
        after={"method": row.method, "criteria": crit},
    )
    db.commit()
    return row


# --- hazards -----------------------------------------------------------------------------------


def create_hazard(
    *, db: Session, actor: Actor, data: HazardIn, template_ref: str = "", commit: bool = True
) -> Hazard:
    ent = enterprise_for_write(db, actor, data.enterprise_id)
    if data.site_id is not None:
        try:
            site = registry.get_site(db=db, actor=actor, site_id=data.site_id)
        except NotFound:
            raise RuleViolation("unknown site", field="site_id") from None
        if site.enterprise_id != ent.id:
            raise RuleViolation("site belongs to another enterprise", field="site_id")
    hazard = Hazard(
        **data.model_dump(),
        region_code=ent.region_code,
        template_ref=template_ref,
        created_by=actor.label,
    )
    db.add(hazard)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.hazard.create",
        object_type="risk_hazard",
        object_id=hazard.id,
        after=data.model_dump(mode="json"),
    )
    if commit:
        db.commit()
    return hazard


def get_hazard(*, db: Session, actor: Actor, hazard_id: int) -> Hazard:
    actor.require(perm.READ)
    hazard = db.get(Hazard, hazard_id)
    if hazard is None or not in_scope(hazard, actor):
        raise HazardNotFound()
    return hazard


def list_hazards(
    *, db: Session, actor: Actor, enterprise_id: int | None = None, site_id: int | None = None
) -> list[Hazard]:
    actor.require(perm.READ)
    stmt = scoped(select(Hazard), Hazard, actor).where(Hazard.active.is_(True))
    if enterprise_id is not None:
        stmt = stmt.where(Hazard.enterprise_id == enterprise_id)
    if site_id is not None:
        stmt = stmt.where(Hazard.site_id == site_id)
    return list(db.scalars(stmt.order_by(Hazard.id)))


# --- assessments -------------------------------------------------------------------------------


def score(
    method: str, initial: Any, residual: Any, reason: str, criteria: AcceptanceCriteria
) -> AssessmentResult:
    """methods.assess plus the residual-reason rule; errors become 422 naming the field."""
    try:
        result = assess(method, initial, residual, criteria)
        residual_higher_requires_reason(result, reason)
    except RiskInputError as exc:
        raise as_violation(exc) from None
    return result


def _apply(row: Assessment, result: AssessmentResult, reason: str) -> None:
    row.method = result.method.value
    row.initial = dict(result.initial.inputs)
    row.initial_score, row.initial_band = result.initial.score, result.initial.band.value
    res = result.residual
    row.residual = None if res is None else dict(res.inputs)
    row.residual_score = None if res is None else res.score
    row.residual_band = None if res is None else res.band.value
    row.current_band, row.method_band = result.current.band.value, result.current.method_band
    row.acceptable, row.residual_reason = result.acceptable, reason


def new_control(row: Assessment, level: str, text: str, requires_instruction: bool) -> Control:
    return Control(
        level=level,
        text=text,
        requires_instruction=requires_instruction,
        enterprise_id=row.enterprise_id,
        region_code=row.region_code,
    )


def _set_controls(db: Session, row: Assessment, controls: Iterable[ControlIn]) -> None:
    for old in list(row.controls):
        db.delete(old)
    row.controls = [
        new_control(row, c.level.value, c.text, c.requires_instruction) for c in controls
    ]
    refresh_flags(row)


def refresh_flags(row: Assessment) -> None:
    levels = [c.level for c in row.controls]
    row.flags = [f.value for f in control_adequacy(levels, row.current_band)]


def _latest_revision(db: Session, hazard_id: int) -> int:
    return (
        db.scalar(select(func.max(Assessment.revision)).where(Assessment.hazard_id == hazard_id))
        or 0
    )


def create_assessment(
    *, db: Session, actor: Actor, data: AssessmentIn, commit: bool = True
) -> Assessment:
    actor.require(perm.WRITE)
    try:
        hazard = get_hazard(db=db, actor=actor, hazard_id=data.hazard_id)
    except NotFound:
        raise RuleViolation("unknown hazard", field="hazard_id") from None
    if _latest_revision(db, hazard.id):
        raise Conflict("this hazard is already assessed; open a review to revise it")
    cfg = settings_of(db, hazard.enterprise_id)
    result = score(cfg.method, data.initial, data.residual, data.residual_reason, criteria_of(cfg))
    row = Assessment(
        hazard_id=hazard.id,
        enterprise_id=hazard.enterprise_id,
        region_code=hazard.region_code,
        revision=1,
        status="draft",
        created_by=actor.label,
    )
    _apply(row, result, data.residual_reason)
    db.add(row)
    _set_controls(db, row, data.controls)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.assessment.create",
        object_type="risk_assessment",
        object_id=row.id,
        after=audit.snapshot(row, ASSESSMENT_FIELDS),
    )
    if commit:
        db.commit()
    return row


def get_assessment(*, db: Session, actor: Actor, assessment_id: int) -> Assessment:
    actor.require(perm.READ)
    row = db.get(Assessment, assessment_id)
    if row is None or not in_scope(row, actor):
        raise AssessmentNotFound()
    return row


def _draft(db: Session, actor: Actor, assessment_id: int) -> Assessment:
    actor.require(perm.WRITE)
    row = get_assessment(db=db, actor=actor, assessment_id=assessment_id)
    if row.status != "draft":
        raise Conflict("a signed revision is never changed; open a review to revise it")
    return row


def update_assessment(
    *, db: Session, actor: Actor, assessment_id: int, data: AssessmentPatch
) -> Assessment:
    row = _draft(db, actor, assessment_id)
    before = audit.snapshot(row, ASSESSMENT_FIELDS)
    sent = data.model_dump(exclude_unset=True)
    initial = sent.get("initial", row.initial)
    residual = sent.get("residual", row.residual)
    reason = (sent["residual_reason"] or "") if "residual_reason" in sent else row.residual_reason
    cfg = settings_of(db, row.enterprise_id)
    result = score(row.method, initial, residual, reason, criteria_of(cfg))
    _apply(row, result, reason)
    if data.controls is not None:
        _set_controls(db, row, data.controls)
    else:
        refresh_flags(row)
    audit.record(
        db,
        actor=actor,
        action="risk.assessment.update",
        object_type="risk_assessment",
        object_id=row.id,
        before=before,
        after=audit.snapshot(row, ASSESSMENT_FIELDS),
    )
    db.commit()
    return row


def add_control(*, db: Session, actor: Actor, assessment_id: int, data: ControlIn) -> Assessment:
    row = _draft(db, actor, assessment_id)
    row.controls.append(new_control(row, data.level.value, data.text, data.requires_instruction))
    refresh_flags(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="risk.control.add",
        object_type="risk_assessment",
        object_id=row.id,
        after={**data.model_dump(mode="json"), "flags": row.flags},
    )
    db.commit()
    return row


def sign_assessment(
    *, db: Session, actor: Actor, assessment_id: int, review_due: date | None = None
) -> Assessment:
    """Sign-off by the enterprise's OSH officer; sets the next periodic review date."""
    actor.require(perm.SIGN)
    row = _draft(db, actor, assessment_id)
    today = date.today()
    if review_due is not None and review_due <= today:
        raise RuleViolation("the review date must be in the future", field="review_due")
    row.status = "signed"
    row.signed_by = str(actor.extra.get("full_name") or actor.name)
    row.signed_at = utcnow()
    row.review_due = review_due or add_months(
        today, settings_of(db, row.enterprise_id).review_months
    )
    audit.record(
        db,
        actor=actor,
        action="risk.assessment.sign",
        object_type="risk_assessment",
        object_id=row.id,
        after=audit.snapshot(row, ASSESSMENT_FIELDS),
    )
    events.emit(
        db,
        type="risk.assessment.signed",
        object_type="risk_assessment",
        object_id=row.id,
        payload={"band": row.current_band, "flags": row.flags},
        region_code=row.region_code,
        enterprise_id=row.enterprise_id,
    )
    db.commit()
    return row


def current_assessments(
    db: Session, actor: Actor | None, enterprise_ids: Iterable[int] | None = None
) -> list[Assessment]:
    """The latest revision of every active hazard (in the actor's scope when given)."""
    latest = (
        select(Assessment.hazard_id, func.max(Assessment.revision).label("rev"))
        .group_by(Assessment.hazard_id)
        .subquery()
    )
    stmt = (
        select(Assessment)
        .join(
            latest,
            (Assessment.hazard_id == latest.c.hazard_id) & (Assessment.revision == latest.c.rev),
        )
        .join(Hazard, Hazard.id == Assessment.hazard_id)
        .where(Hazard.active.is_(True))
    )
    if actor is not None:
        stmt = scoped(stmt, Assessment, actor)
    if enterprise_ids is not None:
        stmt = stmt.where(Assessment.enterprise_id.in_(list(enterprise_ids)))
    return list(db.scalars(stmt.order_by(Assessment.id)))


def list_assessments(
    *, db: Session, actor: Actor, enterprise_id: int | None = None, history: bool = False
) -> list[Assessment]:
    actor.require(perm.READ)
    if not history:
        ids = None if enterprise_id is None else [enterprise_id]
        return current_assessments(db, actor, ids)
    stmt = scoped(select(Assessment), Assessment, actor)
    if enterprise_id is not None:
        stmt = stmt.where(Assessment.enterprise_id == enterprise_id)
    return list(db.scalars(stmt.order_by(Assessment.hazard_id, Assessment.revision)))


def revisions(*, db: Session, actor: Actor, assessment_id: int) -> list[Assessment]:
    row = get_assessment(db=db, actor=actor, assessment_id=assessment_id)
    return list(
        db.scalars(
            select(Assessment)
            .where(Assessment.hazard_id == row.hazard_id)
            .order_by(Assessment.revision)
        )
    )


def _highest_bands(rows: Iterable[Assessment]) -> dict[int, str]:
    levels: dict[int, str] = {}
    for row in rows:
        old = levels.get(row.enterprise_id)
        if old is None or BAND_ORDER.index(row.current_band) > BAND_ORDER.index(old):
            levels[row.enterprise_id] = row.current_band
    return levels


def enterprise_risk_levels(
    *, db: Session, enterprise_ids: Iterable[int] | None = None
) -> dict[int, str]:
    """Highest current band per enterprise (latest revision of each active hazard). Unscoped:
    callers (map layer, inspection planner) apply their own scope to the ids they pass."""
    return _highest_bands(current_assessments(db, None, enterprise_ids))


def scoped_risk_levels(*, db: Session, actor: Actor) -> dict[int, str]:
    """enterprise_risk_levels limited to the enterprises the actor may read."""
    actor.require(perm.READ)
    return _highest_bands(current_assessments(db, actor))
