"""Domain events through a transactional outbox: written in the same transaction as the change.

A domain calls `emit(db, ...)` before it commits; if the change rolls back, so does the event.
The integration domain delivers outbox rows (webhooks, NATS) at least once, in order per object.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from qorgau.core.audit import jsonable
from qorgau.core.db import Base, utcnow
from qorgau.core.security import ScopeSpec


class OutboxEvent(Base):
    __tablename__ = "outbox_event"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id",
                          organisation="organisation_id")
    __table_args__ = (Index("ix_outbox_event_undelivered", "dispatched_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(80))
    region_code: Mapped[str | None] = mapped_column(String(5))
    enterprise_id: Mapped[int | None]
    organisation_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # Set once the fan-out to subscriptions has been planned (deliveries are tracked apart).
    dispatched_at: Mapped[datetime | None]


def emit(
    db: Session,
    *,
    type: str,
    object_type: str,
    object_id: object,
    payload: dict[str, Any],
    region_code: str | None = None,
    enterprise_id: int | None = None,
    organisation_id: int | None = None,
) -> int:
    """Queue an event (e.g. "accident.reported") inside the caller's transaction; returns its
    id. A Core statement on the session's connection: nothing reads the row back in the
    transaction, and the ORM's unit of work took about five times the statement's cost."""
    return db.connection().execute(_INSERT, {
        "type": type, "object_type": object_type, "object_id": str(object_id),
        "region_code": region_code, "enterprise_id": enterprise_id,
        "organisation_id": organisation_id, "payload": jsonable(payload),
        "created_at": utcnow()}).scalar_one()


_INSERT = insert(OutboxEvent.__table__).returning(OutboxEvent.__table__.c.id)
