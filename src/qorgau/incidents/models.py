"""Accidents, victims, attachments, notifications, deadlines, investigations, corrective actions,
revisions, signed acts and anonymous hazard reports. Every row carries region and enterprise so
scoping is one comparison."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec

SCOPE = ScopeSpec(region="region_code", enterprise="enterprise_id")


class Accident(CreatedMixin, Base):
    __tablename__ = "accident"
    __scope__ = SCOPE
    __table_args__ = (
        UniqueConstraint("enterprise_id", "idempotency_key"),
        Index("ix_accident_region_occurred", "region_code", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    section: Mapped[str] = mapped_column(String(1))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    occurred_at: Mapped[datetime]
    reported_at: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(10))
    circumstances: Mapped[str] = mapped_column(Text)
    esaw_deviation: Mapped[str | None] = mapped_column(String(4))
    esaw_contact: Mapped[str | None] = mapped_column(String(4))
    esaw_injury_type: Mapped[str | None] = mapped_column(String(4))
    esaw_body_part: Mapped[str | None] = mapped_column(String(4))
    cause_code: Mapped[str | None] = mapped_column(String(10), index=True)
    victims_count: Mapped[int] = mapped_column(default=1)
    fatalities: Mapped[int] = mapped_column(default=0)
    late_report: Mapped[bool] = mapped_column(default=False)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(24), default="reported")
    revision: Mapped[int] = mapped_column(default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    victims: Mapped[list[Victim]] = relationship(
        back_populates="accident", order_by="Victim.id", lazy="selectin"
    )


class Victim(Base):
    """An injured person. Identified: worker_id + keyed IIN hash; unidentified: name + birth date.
    Outcome and the accident's date/region/section are copied here so indicators are one scan."""

    __tablename__ = "accident_victim"
    __scope__ = SCOPE
    __table_args__ = (
        Index("ix_accident_victim_region_day", "region_code", "occurred_on", "severity"),
        Index("ix_accident_victim_section_day", "section", "occurred_on", "severity"),
        Index("ix_accident_victim_day", "occurred_on", "severity"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    section: Mapped[str] = mapped_column(String(1))
    occurred_on: Mapped[date]
    severity: Mapped[str] = mapped_column(String(10))
    cause_code: Mapped[str | None] = mapped_column(String(10))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    iin_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    iin_masked: Mapped[str | None] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(300), default="")
    birth_date: Mapped[date | None]
    employed_here: Mapped[bool] = mapped_column(default=True)
    icd10: Mapped[str | None] = mapped_column(String(8))
    accident: Mapped[Accident] = relationship(back_populates="victims")


class Attachment(CreatedMixin, Base):
    __tablename__ = "accident_attachment"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int | None] = mapped_column(ForeignKey("accident.id"), index=True)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_report.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(5))
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(400))


class Notification(Base):
    __tablename__ = "accident_notification"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(5))
    recipient: Mapped[str] = mapped_column(String(20))  # inspectorate|insurer|relatives|prosecutor
    reference: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20))  # sent | must_inform
    created_at: Mapped[datetime]


class Deadline(Base):
    __tablename__ = "accident_deadline"
    __scope__ = SCOPE
    __table_args__ = (
        UniqueConstraint("accident_id", "kind"),
        Index("ix_accident_deadline_open", "met_at", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime]
    met_at: Mapped[datetime | None]
    extended_reason: Mapped[str | None] = mapped_column(String(500))


class Investigation(Base):
    __tablename__ = "accident_investigation"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # standard | special
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    commission: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    findings: Mapped[str] = mapped_column(Text, default="")
    causes: Mapped[list[str]] = mapped_column(JSON, default=list)
    fault_employer_pct: Mapped[int | None]
    fault_worker_pct: Mapped[int | None]
    extension_days: Mapped[int] = mapped_column(default=0)
    extension_reason: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(default=1)


class CorrectiveAction(CreatedMixin, Base):
    __tablename__ = "accident_action"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(5))
    description: Mapped[str] = mapped_column(String(1000))
    owner: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="open")
    done_at: Mapped[datetime | None]


class Revision(Base):
    """An immutable snapshot of a regulated record after each change (never updated/deleted)."""

    __tablename__ = "accident_revision"
    __scope__ = SCOPE
    __table_args__ = (UniqueConstraint("object_type", "object_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(5))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]
    number: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    diff: Mapped[dict[str, Any]] = mapped_column(JSON)


class Act(Base):
    """One signed Form N-1 document (a language of a revision). Older revisions stay."""

    __tablename__ = "accident_act"
    __scope__ = SCOPE
    __table_args__ = (UniqueConstraint("accident_id", "revision", "lang"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    accident_id: Mapped[int] = mapped_column(ForeignKey("accident.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(Integer)
    region_code: Mapped[str] = mapped_column(String(5))
    revision: Mapped[int]
    lang: Mapped[str] = mapped_column(String(2))
    path: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signer: Mapped[str] = mapped_column(String(300))
    signed_by: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500), default="")
    registered_at: Mapped[datetime | None]


class HazardReport(Base):
    """Anonymous hazard / near-miss report. No reporter identity, IP or user agent is stored."""

    __tablename__ = "hazard_report"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    enterprise_id: Mapped[int] = mapped_column(Integer, index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(14), default="new")
    status_note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
