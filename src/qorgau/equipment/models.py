"""Mandatory OSH equipment: the requirement catalogue and registered installations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec


class EquipmentRequirement(CreatedMixin, Base):
    """What a site of a kind, run by an activity (section / division), must have installed."""

    __tablename__ = "equipment_requirement"
    __scope__ = ScopeSpec(public=True)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    site_kind: Mapped[str] = mapped_column(String(20), index=True)
    section: Mapped[str | None] = mapped_column(String(1))
    division: Mapped[str | None] = mapped_column(String(2))
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    deadline: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    revision: Mapped[int] = mapped_column(default=1)


class Installation(CreatedMixin, Base):
    __tablename__ = "equipment_installation"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    __table_args__ = (Index("ix_equipment_installation_site_req", "site_id", "requirement_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    requirement_id: Mapped[int] = mapped_column(ForeignKey("equipment_requirement.id"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    section: Mapped[str] = mapped_column(String(1))
    serial_no: Mapped[str] = mapped_column(String(60), unique=True)
    model: Mapped[str] = mapped_column(String(200), default="")
    commissioned_on: Mapped[date]
    act_file: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    photos: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(index=True)
    requirement: Mapped[EquipmentRequirement] = relationship(lazy="joined")
