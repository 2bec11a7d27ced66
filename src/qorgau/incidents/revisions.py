"""Revisions, not edits: each change after submission stores an immutable snapshot with a
reason, who and when, and the field-level diff against the previous revision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core.audit import jsonable
from qorgau.core.db import utcnow
from qorgau.core.security import Actor
from qorgau.incidents.models import Accident, Revision


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(set(before) | set(after))
    return {
        k: {"from": before.get(k), "to": after.get(k)}
        for k in keys
        if before.get(k) != after.get(k)
    }


def last_snapshot(db: Session, object_type: str, object_id: int) -> dict[str, Any]:
    row = db.scalar(
        select(Revision)
        .where(Revision.object_type == object_type, Revision.object_id == object_id)
        .order_by(Revision.number.desc())
        .limit(1)
    )
    return dict(row.snapshot) if row else {}


def store_revision(
    db: Session,
    *,
    actor: Actor,
    accident: Accident,
    object_type: str,
    object_id: int,
    number: int,
    reason: str,
    snapshot: dict[str, Any],
) -> Revision:
    snap = jsonable(snapshot)
    rev = Revision(
        accident_id=accident.id,
        enterprise_id=accident.enterprise_id,
        region_code=accident.region_code,
        object_type=object_type,
        object_id=object_id,
        number=number,
        reason=reason,
        actor=actor.label,
        at=utcnow(),
        snapshot=snap,
        diff=diff(last_snapshot(db, object_type, object_id), snap),
    )
    db.add(rev)
    return rev


def history(db: Session, accident_id: int) -> list[Revision]:
    stmt = (
        select(Revision)
        .where(Revision.accident_id == accident_id)
        .order_by(Revision.at, Revision.id)
    )
    return list(db.scalars(stmt))
