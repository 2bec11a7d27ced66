"""Retroactive registration: an accident the employer never reported, registered by the state
labour inspector once it is established (e.g. a confirmed concealment case).

The record is flagged `retroactive` and `late_report`, carries the source reference (the case)
as its idempotency key, opens a special investigation led by the registering inspector, and is
audited and revisioned like a reported accident. Registering the same source twice returns the
first accident.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core import audit, events
from qorgau.core.db import utcnow
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.security import Actor
from qorgau.incidents import revisions
from qorgau.incidents.constants import KZ_TZ, REGISTER
from qorgau.incidents.models import Accident, Investigation, Victim
from qorgau.registry import service as registry

RETRO_FLAG = "retroactive"


class RetroactiveVictim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    worker_id: int | None = None
    iin_hash: str | None = Field(None, max_length=64)
    iin_masked: str | None = Field(None, max_length=16)
    full_name: str = Field("", max_length=300)
    birth_date: date | None = None
    severity: str = Field("minor", pattern="^(minor|severe|fatal)$")


class RetroactiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enterprise_id: int
    occurred_on: date
    source_ref: str = Field(min_length=3, max_length=100, description="e.g. concealment_case:12")
    circumstances: str = Field(min_length=1, max_length=4000)
    victims: list[RetroactiveVictim] = Field(min_length=1, max_length=50)


def _existing(db: Session, enterprise_id: int, source_ref: str) -> Accident | None:
    stmt = select(Accident).where(
        Accident.enterprise_id == enterprise_id, Accident.idempotency_key == source_ref
    )
    return db.scalars(stmt).first()


def register_retroactive(
    *, db: Session, actor: Actor, data: RetroactiveIn, commit: bool = True
) -> tuple[Accident, bool]:
    """Register an unreported accident after the fact: (accident, created)."""
    actor.require(REGISTER)
    try:
        ent = registry.get_enterprise(db=db, actor=actor, enterprise_id=data.enterprise_id)
    except NotFound:
        raise RuleViolation("unknown enterprise", field="enterprise_id") from None
    earlier = _existing(db, ent.id, data.source_ref)
    if earlier is not None:
        return earlier, False
    now = utcnow()
    occurred = datetime.combine(data.occurred_on, time(12, 0), tzinfo=KZ_TZ)
    if occurred > now or occurred < now - timedelta(days=3 * 365):
        raise RuleViolation("the event date must be within three years", field="occurred_on")
    ranks = ["minor", "severe", "fatal"]
    accident = Accident(
        enterprise_id=ent.id, region_code=ent.region_code, section=ent.section,
        occurred_at=occurred, reported_at=now,
        severity=max((v.severity for v in data.victims), key=ranks.index),
        circumstances=data.circumstances, victims_count=len(data.victims),
        fatalities=sum(v.severity == "fatal" for v in data.victims), late_report=True,
        flags=[RETRO_FLAG, "late_report"] + (["group"] if len(data.victims) >= 2 else []),
        idempotency_key=data.source_ref, created_by=actor.label,
    )  # fmt: skip
    db.add(accident)
    db.flush()
    db.add_all(_victim(accident, v) for v in data.victims)
    db.add(
        Investigation(
            accident_id=accident.id, enterprise_id=ent.id, region_code=ent.region_code,
            kind="special", inspector_id=actor.id if actor.kind == "user" else None,
        )
    )  # fmt: skip
    db.flush()
    db.refresh(accident)
    _record(db, actor, accident, data.source_ref)
    if commit:
        db.commit()
    return accident, True


def _victim(accident: Accident, v: RetroactiveVictim) -> Victim:
    return Victim(
        accident_id=accident.id, enterprise_id=accident.enterprise_id,
        region_code=accident.region_code, section=accident.section,
        occurred_on=accident.occurred_at.astimezone(KZ_TZ).date(), severity=v.severity,
        worker_id=v.worker_id, iin_hash=v.iin_hash, iin_masked=v.iin_masked,
        full_name=v.full_name, birth_date=v.birth_date, employed_here=v.worker_id is not None,
    )  # fmt: skip


def _record(db: Session, actor: Actor, accident: Accident, source_ref: str) -> None:
    from qorgau.incidents.service import snapshot

    snap = snapshot(accident) | {"source_ref": source_ref}
    revisions.store_revision(
        db, actor=actor, accident=accident, object_type="accident", object_id=accident.id,
        number=1, reason=f"registered retroactively ({source_ref})", snapshot=snap,
    )  # fmt: skip
    audit.record(
        db, actor=actor, action="accident.register_retroactive", object_type="accident",
        object_id=accident.id, after=snap,
    )  # fmt: skip
    events.emit(
        db, type="accident.registered_retroactively", object_type="accident",
        object_id=accident.id,
        payload={"severity": accident.severity, "victims": accident.victims_count,
                 "occurred_at": accident.occurred_at, "source_ref": source_ref},
        region_code=accident.region_code, enterprise_id=accident.enterprise_id,
    )  # fmt: skip

