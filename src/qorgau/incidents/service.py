"""Accident operations: report (once, idempotently), read within scope, revise with a reason,
attach files, list deadlines. Investigation, acts and hazard reports live in their own modules."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, extract, func, select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.audit import canonical
from qorgau.core.db import utcnow
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.security import Actor, iin_hash, in_scope, mask_iin, scope_clause, scoped
from qorgau.incidents import deadlines, notify, retroactive, revisions, storage
from qorgau.incidents.constants import READ, REPORT, REPORT_HOURS, SEVERITY_RANK
from qorgau.incidents.models import (
    Accident,
    Attachment,
    Deadline,
    HazardReport,
    Investigation,
    Victim,
)
from qorgau.incidents.schemas import AccidentIn, AccidentRevise, VictimIn
from qorgau.registry import service as registry

# Registration by the inspector of an accident the employer never reported (retroactive.py).
register_retroactive = retroactive.register_retroactive
RetroactiveIn = retroactive.RetroactiveIn
RetroactiveVictim = retroactive.RetroactiveVictim

CLOCK_SKEW = timedelta(minutes=5)
ACCIDENT_FIELDS = [
    "enterprise_id",
    "site_id",
    "occurred_at",
    "severity",
    "circumstances",
    "esaw_deviation",
    "esaw_contact",
    "esaw_injury_type",
    "esaw_body_part",
    "cause_code",
    "victims_count",
    "fatalities",
    "flags",
    "state",
]


# --- steps of report_accident -------------------------------------------------------------


def _enterprise(db: Session, actor: Actor, data: AccidentIn) -> Any:
    ent_id = data.enterprise_id or actor.enterprise_id
    if ent_id is None:
        raise RuleViolation("enterprise_id is required for this role", field="enterprise_id")
    if actor.enterprise_id is not None and ent_id != actor.enterprise_id:
        raise RuleViolation("you may report only for your own enterprise", field="enterprise_id")
    try:
        return registry.get_enterprise(db=db, actor=actor, enterprise_id=ent_id)
    except NotFound:
        raise RuleViolation("unknown enterprise", field="enterprise_id") from None


def _check_event_time(occurred_at: datetime, now: datetime) -> None:
    if occurred_at > now + CLOCK_SKEW:
        raise RuleViolation("the event time is in the future", field="occurred_at")
    if occurred_at < now - timedelta(days=3 * 365):
        raise RuleViolation("the event time is more than three years ago", field="occurred_at")


def body_hash(data: AccidentIn) -> str:
    return hashlib.sha256(canonical(data.model_dump(mode="json"))).hexdigest()


def _replay(db: Session, enterprise_id: int, key: str | None, digest: str) -> Accident | None:
    """Same key + same body → the earlier record; same key + another body → 409."""
    if not key:
        return None
    earlier = db.scalar(
        select(Accident).where(
            Accident.enterprise_id == enterprise_id, Accident.idempotency_key == key
        )
    )
    if earlier is not None and earlier.body_hash != digest:
        raise Conflict("this Idempotency-Key was used for a different report", field="idempotency")
    return earlier


def _check_site(db: Session, actor: Actor, site_id: int | None, enterprise_id: int) -> None:
    if site_id is None:
        return
    try:
        site = registry.get_site(db=db, actor=actor, site_id=site_id)
    except NotFound:
        raise RuleViolation("unknown site", field="site_id") from None
    if site.enterprise_id != enterprise_id:
        raise RuleViolation("the site belongs to another enterprise", field="site_id")


def _victim(db: Session, accident: Accident, data: VictimIn) -> Victim:
    """Match an IIN to the registry worker by keyed hash; the clear IIN is never stored."""
    v = Victim(
        accident_id=accident.id,
        enterprise_id=accident.enterprise_id,
        region_code=accident.region_code,
        section=accident.section,
        occurred_on=deadlines.local_day(accident.occurred_at),
        severity=data.severity,
        icd10=data.icd10,
        full_name=data.full_name,
        birth_date=data.birth_date,
        employed_here=False,
    )
    if data.iin:
        worker = registry.find_worker(db=db, iin=data.iin)
        v.iin_hash, v.iin_masked = iin_hash(data.iin), mask_iin(data.iin)
        if worker is not None:
            v.worker_id = worker.id
            v.full_name = v.full_name or f"{worker.last_name} {worker.first_name}".strip()
            v.birth_date = worker.birth_date
            v.employed_here = worker.enterprise_id == accident.enterprise_id
    return v


def _flags(accident: Accident, victims: list[Victim], data: AccidentIn) -> list[str]:
    flags = []
    if accident.late_report:
        flags.append("late_report")
    if any(d.iin and not v.employed_here for v, d in zip(victims, data.victims, strict=True)):
        flags.append("victim_not_employed")
    if len(victims) >= 2:
        flags.append("group")
    return flags


def _severity(data: AccidentIn) -> str:
    worst = max([data.severity, *(v.severity for v in data.victims)], key=SEVERITY_RANK.get)
    return str(worst)


def _open_investigation(db: Session, accident: Accident, inspector_id: int | None) -> None:
    """Severe, fatal and group cases get a special investigation led by the state inspector."""
    special = accident.severity in ("severe", "fatal") or accident.victims_count >= 2
    db.add(
        Investigation(
            accident_id=accident.id,
            enterprise_id=accident.enterprise_id,
            region_code=accident.region_code,
            kind="special" if special else "standard",
            inspector_id=inspector_id if special else None,
        )
    )


def snapshot(accident: Accident) -> dict[str, Any]:
    snap = audit.snapshot(accident, ACCIDENT_FIELDS)
    snap["victims"] = [
        {"id": v.id, "severity": v.severity, "iin_masked": v.iin_masked, "name": v.full_name}
        for v in accident.victims
    ]
    return snap


def _emit_reported(db: Session, accident: Accident) -> None:
    events.emit(
        db,
        type="accident.reported",
        object_type="accident",
        object_id=accident.id,
        payload={
            "severity": accident.severity,
            "victims": accident.victims_count,
            "fatalities": accident.fatalities,
            "occurred_at": accident.occurred_at,
            "late": accident.late_report,
            "flags": accident.flags,
        },
        region_code=accident.region_code,
        enterprise_id=accident.enterprise_id,
    )


def report_accident(
    *, db: Session, actor: Actor, data: AccidentIn, idempotency_key: str | None = None
) -> tuple[Accident, bool]:
    """Report once: returns (accident, created). Notifies, opens deadlines and investigation."""
    actor.require(REPORT)
    now = utcnow()
    _check_event_time(data.occurred_at, now)
    ent = _enterprise(db, actor, data)
    digest = body_hash(data)
    earlier = _replay(db, ent.id, idempotency_key, digest)
    if earlier is not None:
        return earlier, False
    _check_site(db, actor, data.site_id, ent.id)
    accident = Accident(
        enterprise_id=ent.id,
        region_code=ent.region_code,
        section=ent.section,
        site_id=data.site_id,
        occurred_at=data.occurred_at,
        reported_at=now,
        severity=_severity(data),
        circumstances=data.circumstances,
        esaw_deviation=data.esaw_deviation,
        esaw_contact=data.esaw_contact,
        esaw_injury_type=data.esaw_injury_type,
        esaw_body_part=data.esaw_body_part,
        victims_count=len(data.victims),
        fatalities=sum(v.severity == "fatal" for v in data.victims),
        late_report=now - data.occurred_at > timedelta(hours=REPORT_HOURS),
        idempotency_key=idempotency_key,
        body_hash=digest,
        created_by=actor.label,
    )
    db.add(accident)
    db.flush()
    victims = [_victim(db, accident, v) for v in data.victims]
    db.add_all(victims)
    accident.flags = _flags(accident, victims, data)
    db.flush()
    db.refresh(accident)
    inspectors = notify.region_inspectors(db, accident.region_code)
    inspector_id = inspectors[0] if inspectors else None
    deadlines.open_initial(db, accident, inspector_id)
    _open_investigation(db, accident, inspector_id)
    notify.notify_all(db, accident)
    snap = snapshot(accident)
    revisions.store_revision(
        db,
        actor=actor,
        accident=accident,
        object_type="accident",
        object_id=accident.id,
        number=1,
        reason="submitted",
        snapshot=snap,
    )
    audit.record(
        db,
        actor=actor,
        action="accident.report",
        object_type="accident",
        object_id=accident.id,
        after=snap,
    )
    _emit_reported(db, accident)
    _reopen_risk_assessments(db, accident)
    db.commit()
    return accident, True


def _reopen_risk_assessments(db: Session, accident: Accident) -> None:
    """ISO 45001 10.2: an accident is a review trigger for the site's signed assessments."""
    from qorgau.risk import service as risk

    risk.on_accident(db=db, enterprise_id=accident.enterprise_id, site_id=accident.site_id,
                     accident_ref=str(accident.id), commit=False)


def get_accident(*, db: Session, actor: Actor, accident_id: int) -> Accident:
    actor.require(READ)
    accident = db.get(Accident, accident_id)
    if accident is None or not in_scope(accident, actor):
        raise NotFound("accident not found")
    return accident


def accident_query(
    *,
    actor: Actor,
    region: str | None = None,
    enterprise_id: int | None = None,
    severity: str | None = None,
    late: bool | None = None,
) -> Select[Any]:
    actor.require(READ)
    stmt = scoped(select(Accident), Accident, actor)
    if region:
        stmt = stmt.where(Accident.region_code == region)
    if enterprise_id:
        stmt = stmt.where(Accident.enterprise_id == enterprise_id)
    if severity:
        stmt = stmt.where(Accident.severity == severity)
    if late is not None:
        stmt = stmt.where(Accident.late_report.is_(late))
    return stmt.order_by(Accident.occurred_at.desc(), Accident.id.desc())


def list_accidents(
    *, db: Session, actor: Actor, params: PageParams, **filters: Any
) -> tuple[list[Accident], int]:
    return paginate(db, accident_query(actor=actor, **filters), params)


def revise_accident(
    *, db: Session, actor: Actor, accident_id: int, data: AccidentRevise
) -> Accident:
    """A correction is a new revision with a reason; the earlier snapshot stays."""
    actor.require(REPORT)
    accident = get_accident(db=db, actor=actor, accident_id=accident_id)
    before = snapshot(accident)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if not changes:
        raise RuleViolation("nothing to change", field="reason")
    for key, value in changes.items():
        setattr(accident, key, value)
    accident.revision += 1
    after = snapshot(accident)
    revisions.store_revision(
        db,
        actor=actor,
        accident=accident,
        object_type="accident",
        object_id=accident.id,
        number=accident.revision,
        reason=data.reason,
        snapshot=after,
    )
    audit.record(
        db,
        actor=actor,
        action="accident.revise",
        object_type="accident",
        object_id=accident.id,
        before=before,
        after={**after, "reason": data.reason},
    )
    db.commit()
    return accident


def add_attachment(
    *, db: Session, actor: Actor, accident_id: int, filename: str, content: bytes
) -> Attachment:
    actor.require(REPORT)
    accident = get_accident(db=db, actor=actor, accident_id=accident_id)
    stored = storage.store(content, filename)
    att = Attachment(
        accident_id=accident.id,
        enterprise_id=accident.enterprise_id,
        region_code=accident.region_code,
        filename=stored.name,
        mime=stored.mime,
        size=stored.size,
        sha256=stored.sha256,
        path=stored.path,
        created_by=actor.label,
    )
    db.add(att)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="accident.attach",
        object_type="accident",
        object_id=accident.id,
        after={"attachment": att.id, "sha256": att.sha256},
    )
    db.commit()
    return att


def attachments(*, db: Session, actor: Actor, accident_id: int) -> list[Attachment]:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    stmt = select(Attachment).where(Attachment.accident_id == accident_id).order_by(Attachment.id)
    return list(db.scalars(stmt))


def get_attachment(*, db: Session, actor: Actor, attachment_id: int) -> Attachment:
    actor.require(READ)
    att = db.get(Attachment, attachment_id)
    if att is None or not in_scope(att, actor):
        raise NotFound("attachment not found")
    return att


def accident_deadlines(*, db: Session, actor: Actor, accident_id: int) -> list[Deadline]:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    stmt = select(Deadline).where(Deadline.accident_id == accident_id).order_by(Deadline.due_at)
    return list(db.scalars(stmt))


def overdue(
    *,
    db: Session,
    actor: Actor,
    params: PageParams,
    inspector_id: int | None = None,
    enterprise_id: int | None = None,
) -> tuple[list[Deadline], int]:
    actor.require(READ)
    stmt = deadlines.overdue_query(actor, inspector_id=inspector_id, enterprise_id=enterprise_id)
    return paginate(db, stmt, params)


def notifications(*, db: Session, actor: Actor, accident_id: int) -> list[Any]:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    return notify.for_accident(db, accident_id)


def history(*, db: Session, actor: Actor, accident_id: int) -> list[Any]:
    get_accident(db=db, actor=actor, accident_id=accident_id)
    return revisions.history(db, accident_id)


def victims_scope(actor: Actor) -> Any:
    """The WHERE clause limiting victim rows to the caller's slice (indicators aggregate them)."""
    actor.require(READ)
    return scope_clause(Victim, actor)


def esaw_cases(*, db: Session, actor: Actor, start: Any, end: Any) -> list[Any]:
    """One row per victim with the accident's ESAW coding, for the statistical export."""
    stmt = (
        select(
            Victim.id,
            Victim.accident_id,
            Victim.occurred_on,
            Victim.region_code,
            Victim.section,
            Victim.severity,
            Victim.cause_code,
            Victim.icd10,
            Accident.esaw_deviation,
            Accident.esaw_contact,
            Accident.esaw_injury_type,
            Accident.esaw_body_part,
            Accident.victims_count,
        )
        .join(Accident, Accident.id == Victim.accident_id)
        .where(victims_scope(actor), Victim.occurred_on.between(start, end))
        .order_by(Victim.occurred_on, Victim.id)
    )
    return list(db.execute(stmt))


def lost_time_injuries(
    *, db: Session, enterprise_ids: list[int], start: Any, end: Any
) -> dict[tuple[int, int, int], int]:
    """Lost-time injuries per (enterprise, year, month) with occurred_on in [start, end]: every
    victim of a reported accident employed by that enterprise (an accident is reported when it
    costs at least a day's work capacity or a life, so each victim is one LTI). Unscoped:
    callers pass enterprise ids from their own scoped query."""
    if not enterprise_ids:
        return {}
    year = extract("year", Victim.occurred_on)
    month = extract("month", Victim.occurred_on)
    stmt = (
        select(Victim.enterprise_id, year, month, func.count())
        .where(
            Victim.enterprise_id.in_(enterprise_ids),
            Victim.employed_here.is_(True),
            Victim.occurred_on.between(start, end),
        )
        .group_by(Victim.enterprise_id, year, month)
    )
    return {(int(e), int(y), int(m)): int(n) for e, y, m, n in db.execute(stmt).all()}


def near_miss_reports(*, db: Session, enterprise_id: int, start: Any, end: Any) -> int:
    """Anonymous near-miss reports about one enterprise received in [start, end] (dates)."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    hi = datetime.combine(end, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    stmt = select(func.count()).where(
        HazardReport.enterprise_id == enterprise_id,
        HazardReport.kind == "near_miss",
        HazardReport.created_at >= lo,
        HazardReport.created_at < hi,
    )
    return int(db.scalar(stmt) or 0)


VICTIM = Victim


def attachment_bytes(att: Attachment) -> bytes:
    from pathlib import Path

    return Path(att.path).read_bytes()
