"""Anonymous hazard and near-miss reports: no login, a follow-up code, routed by BIN to the
enterprise and the region's inspectors. Nothing about the reporter is stored (no IP, no agent);
the rate limit key is used in memory only."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.db import utcnow
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.identifiers import bin_problem
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.ratelimit import check_rate
from qorgau.core.security import SYSTEM_ACTOR, Actor, in_scope, scoped
from qorgau.incidents import storage
from qorgau.incidents.constants import HAZARD_KINDS, HAZARD_RATE_PER_MINUTE, HAZARDS
from qorgau.incidents.models import Attachment, HazardReport

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud on a phone


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def rate_key(client: str) -> str:
    """A one-way key for the in-memory limiter; the client address itself is not kept."""
    return "hazard:" + hashlib.sha256(client.encode()).hexdigest()[:16]


def _enterprise_by_bin(db: Session, bin_: str) -> Any:
    from qorgau.registry.models import Enterprise

    problem = bin_problem(bin_)
    if problem:
        raise RuleViolation(f"invalid BIN: {problem}", field="bin")
    ent = db.scalar(select(Enterprise).where(Enterprise.bin == bin_))
    if ent is None:
        raise RuleViolation("no enterprise with this BIN in the registry", field="bin")
    return ent


def _validate(kind: str, description: str, location: str) -> None:
    if kind not in HAZARD_KINDS:
        raise RuleViolation("kind must be hazard or near_miss", field="kind")
    if not 10 <= len(description.strip()) <= 5000:
        raise RuleViolation("describe the hazard in 10–5000 characters", field="description")
    if len(location) > 300:
        raise RuleViolation("location is at most 300 characters", field="location")


def submit_hazard(
    *,
    db: Session,
    client: str,
    bin_: str,
    kind: str,
    description: str,
    location: str = "",
    photo: tuple[str, bytes] | None = None,
) -> HazardReport:
    check_rate(rate_key(client), HAZARD_RATE_PER_MINUTE)
    _validate(kind, description, location)
    ent = _enterprise_by_bin(db, bin_.strip())
    stored = storage.store(photo[1], photo[0]) if photo and photo[1] else None
    now = utcnow()
    report = HazardReport(
        code=new_code(),
        enterprise_id=ent.id,
        region_code=ent.region_code,
        kind=kind,
        description=description.strip(),
        location=location.strip(),
        created_at=now,
        updated_at=now,
    )
    db.add(report)
    db.flush()
    if stored:
        db.add(
            Attachment(
                hazard_id=report.id,
                enterprise_id=ent.id,
                region_code=ent.region_code,
                filename=stored.name,
                mime=stored.mime,
                size=stored.size,
                sha256=stored.sha256,
                path=stored.path,
                created_by="anonymous",
            )
        )
    audit.record(
        db,
        actor=SYSTEM_ACTOR,
        action="hazard.report",
        object_type="hazard_report",
        object_id=report.id,
        after={"kind": kind, "enterprise": ent.id},
    )
    events.emit(
        db,
        type="hazard.reported",
        object_type="hazard_report",
        object_id=report.id,
        payload={"kind": kind},
        region_code=ent.region_code,
        enterprise_id=ent.id,
    )
    db.commit()
    return report


def hazard_status(*, db: Session, code: str) -> HazardReport:
    report = db.scalar(select(HazardReport).where(HazardReport.code == code.strip().upper()))
    if report is None:
        raise NotFound("no report with this code")
    return report


def list_hazards(
    *, db: Session, actor: Actor, params: PageParams, status: str | None = None
) -> tuple[list[HazardReport], int]:
    actor.require(HAZARDS)
    stmt = scoped(select(HazardReport), HazardReport, actor)
    if status:
        stmt = stmt.where(HazardReport.status == status)
    return paginate(db, stmt.order_by(HazardReport.created_at.desc()), params)


def set_status(
    *, db: Session, actor: Actor, hazard_id: int, status: str, note: str
) -> HazardReport:
    actor.require(HAZARDS)
    report = db.get(HazardReport, hazard_id)
    if report is None or not in_scope(report, actor):
        raise NotFound("hazard report not found")
    before = {"status": report.status, "note": report.status_note}
    report.status, report.status_note, report.updated_at = status, note, utcnow()
    audit.record(
        db,
        actor=actor,
        action="hazard.status",
        object_type="hazard_report",
        object_id=report.id,
        before=before,
        after={"status": status, "note": note},
    )
    db.commit()
    return report
