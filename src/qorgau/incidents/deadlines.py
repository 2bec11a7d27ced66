"""Statutory deadlines: hours run through nights and holidays; "N working days" use the
Kazakhstan holiday calendar (qorgau.core.calendar) and end at the close of that local day."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from qorgau.core.calendar import add_working_days, deadline_hours
from qorgau.core.db import utcnow
from qorgau.core.security import Actor, scoped
from qorgau.incidents.constants import (
    ACT_WORKING_DAYS,
    COMMISSION_HOURS,
    INVESTIGATION_WORKING_DAYS,
    KZ_TZ,
    REGISTER_WORKING_DAYS,
    REPORT_HOURS,
)
from qorgau.incidents.models import Accident, Deadline


def end_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=KZ_TZ)


def local_day(moment: datetime) -> date:
    return moment.astimezone(KZ_TZ).date()


def report_due(occurred_at: datetime) -> datetime:
    return deadline_hours(occurred_at, REPORT_HOURS)


def commission_due(occurred_at: datetime) -> datetime:
    return deadline_hours(occurred_at, COMMISSION_HOURS)


def investigation_due(commission_at: datetime, extension_days: int = 0) -> datetime:
    """10 working days (plus any extension) counted from the day after the commission formed."""
    days = INVESTIGATION_WORKING_DAYS + extension_days
    return end_of_local_day(add_working_days(local_day(commission_at), days))


def act_due(investigation_done_at: datetime) -> datetime:
    return end_of_local_day(add_working_days(local_day(investigation_done_at), ACT_WORKING_DAYS))


def register_due(act_sent_at: datetime) -> datetime:
    return end_of_local_day(add_working_days(local_day(act_sent_at), REGISTER_WORKING_DAYS))


def is_late(due_at: datetime, done_at: datetime) -> bool:
    return done_at > due_at


def set_deadline(
    db: Session, accident: Accident, kind: str, due_at: datetime, inspector_id: int | None
) -> Deadline:
    row = db.scalar(
        select(Deadline).where(Deadline.accident_id == accident.id, Deadline.kind == kind)
    )
    if row is None:
        row = Deadline(
            accident_id=accident.id,
            enterprise_id=accident.enterprise_id,
            region_code=accident.region_code,
            kind=kind,
        )
        db.add(row)
    row.due_at, row.inspector_id = due_at, inspector_id
    return row


def meet(db: Session, accident_id: int, kind: str, at: datetime | None = None) -> None:
    row = db.scalar(
        select(Deadline).where(Deadline.accident_id == accident_id, Deadline.kind == kind)
    )
    if row is not None and row.met_at is None:
        row.met_at = at or utcnow()


def open_initial(db: Session, accident: Accident, inspector_id: int | None) -> None:
    """The report deadline is met at submission; the commission clock starts at the event."""
    set_deadline(db, accident, "report", report_due(accident.occurred_at), inspector_id)
    meet(db, accident.id, "report", accident.reported_at)
    set_deadline(db, accident, "commission", commission_due(accident.occurred_at), inspector_id)


def overdue_clause(now: datetime) -> Any:
    """Open and past due, or met after the due time (a late step stays visible)."""
    return or_(
        (Deadline.met_at.is_(None)) & (Deadline.due_at < now),
        Deadline.met_at > Deadline.due_at,
    )


def overdue_query(
    actor: Actor,
    *,
    now: datetime | None = None,
    inspector_id: int | None = None,
    enterprise_id: int | None = None,
) -> Select[Any]:
    stmt = scoped(select(Deadline), Deadline, actor).where(overdue_clause(now or utcnow()))
    if inspector_id is not None:
        stmt = stmt.where(Deadline.inspector_id == inspector_id)
    if enterprise_id is not None:
        stmt = stmt.where(Deadline.enterprise_id == enterprise_id)
    return stmt.order_by(Deadline.due_at)


def is_overdue(row: Deadline, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if row.met_at is None:
        return row.due_at < now
    return row.met_at > row.due_at
