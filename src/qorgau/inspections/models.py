"""HPF register, risk-based plans, checklists, inspections, violations, prescriptions, fines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec

SCOPE = ScopeSpec(region="region_code", enterprise="enterprise_id")


class HazardousFacility(CreatedMixin, Base):
    __tablename__ = "hazardous_facility"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    reg_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    hazard_class: Mapped[int]
    declaration_date: Mapped[date | None]
    expert_exam_due: Mapped[date | None] = mapped_column(index=True)
    # as the emergency ministry's register gives them (feed hpf-register)
    lon: Mapped[float | None]
    lat: Mapped[float | None]
    registered_on: Mapped[date | None]


class TechnicalDevice(CreatedMixin, Base):
    __tablename__ = "technical_device"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("hazardous_facility.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    reg_no: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    last_exam: Mapped[date | None]
    exam_due: Mapped[date] = mapped_column(index=True)


class InspectorateCapacity(Base):
    """Inspections a regional inspectorate can carry out per month (configurable per region)."""

    __tablename__ = "inspectorate_capacity"
    __scope__ = ScopeSpec(region="region_code")
    region_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    authority: Mapped[str] = mapped_column(String(12), primary_key=True)
    per_month: Mapped[int]


class InspectionPlan(CreatedMixin, Base):
    __tablename__ = "inspection_plan"
    __scope__ = ScopeSpec(region="region_code")
    id: Mapped[int] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    authority: Mapped[str] = mapped_column(String(12))
    period_start: Mapped[date]
    period_end: Mapped[date]
    capacity: Mapped[int]
    candidates: Mapped[int]


class PlanItem(Base):
    __tablename__ = "inspection_plan_item"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("inspection_plan.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    rank: Mapped[int]
    score: Mapped[float]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ChecklistItem(Base):
    __tablename__ = "checklist_item"
    __scope__ = ScopeSpec(public=True)
    id: Mapped[int] = mapped_column(primary_key=True)
    checklist: Mapped[str] = mapped_column(String(12), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    norm: Mapped[str] = mapped_column(String(300))
    text_kk: Mapped[str] = mapped_column(Text)
    text_ru: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(default=1)


class Inspection(CreatedMixin, Base):
    """A submitted inspection; findings are never edited (a follow-up is a new inspection)."""

    __tablename__ = "inspection"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    authority: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(12), default="planned")
    plan_item_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_plan_item.id"))
    follow_up_of: Mapped[int | None]  # prescription id (no FK: it would close a cycle)
    inspector_id: Mapped[int | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")


class InspectionAnswer(Base):
    __tablename__ = "inspection_answer"
    __scope__ = SCOPE
    __table_args__ = (UniqueConstraint("inspection_id", "item_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    enterprise_id: Mapped[int]
    region_code: Mapped[str] = mapped_column(String(5))
    item_code: Mapped[str] = mapped_column(String(12))
    result: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Violation(CreatedMixin, Base):
    __tablename__ = "violation"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_violation_enterprise_state", "enterprise_id", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"))
    source: Mapped[str] = mapped_column(String(16), default="inspection")
    item_code: Mapped[str] = mapped_column(String(12), default="")
    norm: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    device_id: Mapped[int | None] = mapped_column(ForeignKey("technical_device.id"))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("hazardous_facility.id"))
    found_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(12), default="open")
    closed_on: Mapped[date | None]


class Prescription(CreatedMixin, Base):
    __tablename__ = "prescription"
    __scope__ = SCOPE
    __table_args__ = (Index("ix_prescription_state_due", "state", "due_date"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violation.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    issued_on: Mapped[date]
    due_date: Mapped[date]
    state: Mapped[str] = mapped_column(String(12), default="open")
    overdue_since: Mapped[date | None]


class Fine(CreatedMixin, Base):
    __tablename__ = "fine"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    violation_id: Mapped[int] = mapped_column(ForeignKey("violation.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    legal_basis: Mapped[str] = mapped_column(String(200))
    imposed_on: Mapped[date]


class Appeal(CreatedMixin, Base):
    """An appeal against a fine; the decision is a separate, later write (state + decided_on)."""

    __tablename__ = "fine_appeal"
    __scope__ = SCOPE
    id: Mapped[int] = mapped_column(primary_key=True)
    fine_id: Mapped[int] = mapped_column(ForeignKey("fine.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    region_code: Mapped[str] = mapped_column(String(5))
    filed_on: Mapped[date]
    grounds: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(12), default="pending")
    decided_on: Mapped[date | None]
