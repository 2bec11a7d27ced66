"""Risk-management tables: hazards, assessment revisions, controls, actions, evidence,
Vision Zero self-checks, risk instructions, per-enterprise settings, hours worked, near misses
and the worker-account link.

Every row carries enterprise_id and region_code so scoping is one comparison.
Assessments are stored as revisions: a signed revision is never edited; a review trigger
creates the next (draft) revision.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qorgau.core.db import Base, CreatedMixin, utcnow
from qorgau.core.security import ScopeSpec

SCOPE = ScopeSpec(region="region_code", enterprise="enterprise_id")


class RiskSettings(Base):
    """The enterprise's method and acceptance criteria (ISO 45001 6.1.2.2)."""

    __tablename__ = "risk_settings"
    __scope__ = SCOPE
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    method: Mapped[str] = mapped_column(String(20), default="matrix_5x5")
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    review_months: Mapped[int] = mapped_column(default=12)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Hazard(CreatedMixin, Base):
    __tablename__ = "risk_hazard"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    workplace: Mapped[str] = mapped_column(String(300), default="")
    occupation: Mapped[str] = mapped_column(String(200), default="")
    hazard_type: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    exposed_groups: Mapped[str] = mapped_column(String(300), default="")
    headcount: Mapped[int] = mapped_column(default=0)
    template_ref: Mapped[str] = mapped_column(String(80), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Assessment(CreatedMixin, Base):
    """One revision of the assessment of one hazard."""

    __tablename__ = "risk_assessment"
    __scope__ = SCOPE
    __table_args__ = (
        UniqueConstraint("hazard_id", "revision"),
        Index("ix_risk_assessment_enterprise_band", "enterprise_id", "current_band"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("risk_hazard.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    revision: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft | signed
    method: Mapped[str] = mapped_column(String(20))
    initial: Mapped[dict[str, Any]] = mapped_column(JSON)
    residual: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    initial_score: Mapped[float] = mapped_column(Float)
    initial_band: Mapped[str] = mapped_column(String(12))
    residual_score: Mapped[float | None] = mapped_column(Float)
    residual_band: Mapped[str | None] = mapped_column(String(12))
    current_band: Mapped[str] = mapped_column(String(12))
    method_band: Mapped[str] = mapped_column(String(12))
    acceptable: Mapped[bool] = mapped_column(default=False)
    residual_reason: Mapped[str] = mapped_column(Text, default="")
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    review_due: Mapped[date | None]
    signed_by: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[datetime | None]
    trigger: Mapped[str | None] = mapped_column(String(20))  # why this revision was opened
    trigger_note: Mapped[str] = mapped_column(String(1000), default="")
    hazard: Mapped[Hazard] = relationship(lazy="joined")
    controls: Mapped[list[Control]] = relationship(
        lazy="selectin", order_by="Control.id", back_populates="assessment"
    )


class Control(Base):
    __tablename__ = "risk_control"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("risk_assessment.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    level: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    requires_instruction: Mapped[bool] = mapped_column(default=False)
    assessment: Mapped[Assessment] = relationship(back_populates="controls")


class Action(CreatedMixin, Base):
    """Corrective or preventive action (ISO 45001 10.2), optionally tied to an accident."""

    __tablename__ = "risk_action"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_risk_action_status_due", "status", "due_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("risk_hazard.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="corrective")
    title: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(12), default="open")
    accident_ref: Mapped[str] = mapped_column(String(60), default="", index=True)
    root_cause: Mapped[str] = mapped_column(String(1000), default="")
    closed_on: Mapped[date | None]
    escalated_at: Mapped[datetime | None]
    evidence: Mapped[list[Evidence]] = relationship(lazy="selectin", order_by="Evidence.id")


class Evidence(CreatedMixin, Base):
    __tablename__ = "risk_evidence"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("risk_action.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    filename: Mapped[str] = mapped_column(String(200))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(400))


class VisionZeroCheck(CreatedMixin, Base):
    __tablename__ = "risk_vision_zero"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    on_date: Mapped[date]
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    total_pct: Mapped[float | None] = mapped_column(Float)


class Instruction(CreatedMixin, Base):
    """A worker's "read and understood" for the instructed controls of one hazard."""

    __tablename__ = "risk_instruction"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_risk_instruction_worker_hazard", "worker_id", "hazard_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("risk_hazard.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    confirmed_on: Mapped[date]
    expires_on: Mapped[date]
    on_behalf: Mapped[bool] = mapped_column(default=False)


class HoursWorked(CreatedMixin, Base):
    """Hours worked by the enterprise's staff in one calendar month (the LTIFR denominator).
    A correction is a new revision; the highest revision of a month counts."""

    __tablename__ = "risk_hours_worked"
    __scope__ = SCOPE
    __table_args__ = (UniqueConstraint("enterprise_id", "year", "month", "revision"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    year: Mapped[int]
    month: Mapped[int]
    hours: Mapped[float] = mapped_column(Float)
    revision: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(String(500), default="")


class NearMiss(CreatedMixin, Base):
    """A near miss recorded by the enterprise (named, unlike the anonymous reports)."""

    __tablename__ = "risk_near_miss"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_risk_near_miss_enterprise_day", "enterprise_id", "occurred_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    hazard_id: Mapped[int | None] = mapped_column(ForeignKey("risk_hazard.id"))
    occurred_on: Mapped[date]
    hazard_type: Mapped[str] = mapped_column(String(30))
    potential_severity: Mapped[str] = mapped_column(String(10))  # minor | severe | fatal
    description: Mapped[str] = mapped_column(Text)


class WorkerAccount(CreatedMixin, Base):
    """Links a user account (role worker) to its registry worker, so the worker confirms their
    own instruction. Unlinking sets unlinked_at; the row stays as the record of who was who."""

    __tablename__ = "risk_worker_account"
    __scope__ = SCOPE
    __table_args__ = (
        Index(
            "uq_risk_worker_account_user_id_active",
            "user_id",
            unique=True,
            sqlite_where=text("unlinked_at IS NULL"),
            postgresql_where=text("unlinked_at IS NULL"),
        ),
        Index(
            "uq_risk_worker_account_worker_id_active",
            "worker_id",
            unique=True,
            sqlite_where=text("unlinked_at IS NULL"),
            postgresql_where=text("unlinked_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    unlinked_at: Mapped[datetime | None]
    unlinked_by: Mapped[str | None] = mapped_column(String(200))
