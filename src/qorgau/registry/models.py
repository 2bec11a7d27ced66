"""Regions, economic activities, risk classes, enterprises, sites, workers and employment."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec


class Region(Base):
    __tablename__ = "region"
    __scope__ = ScopeSpec(public=True)
    iso: Mapped[str] = mapped_column(String(5), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    name_kk: Mapped[str] = mapped_column(String(120))
    name_ru: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)


class RiskClass(Base):
    __tablename__ = "risk_class"
    __scope__ = ScopeSpec(public=True)
    id: Mapped[int] = mapped_column(primary_key=True)
    tariff_pct: Mapped[float] = mapped_column(Numeric(6, 3))
    source: Mapped[str] = mapped_column(String(300))
    illustrative: Mapped[bool]


class Activity(Base):
    """OKED code: a section letter (A–U) or a two-digit division."""

    __tablename__ = "activity"
    __scope__ = ScopeSpec(public=True)
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    level: Mapped[str] = mapped_column(String(10))
    section: Mapped[str] = mapped_column(String(1), index=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    risk_class: Mapped[int | None] = mapped_column(ForeignKey("risk_class.id"))


class Enterprise(CreatedMixin, Base):
    __tablename__ = "enterprise"
    __scope__ = ScopeSpec(region="region_code", enterprise="id")
    __table_args__ = (
        CheckConstraint("lon BETWEEN 46 AND 88 AND lat BETWEEN 40 AND 56", name="in_kazakhstan"),
        Index("ix_enterprise_region_activity", "region_code", "activity_code"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    bin: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    activity_code: Mapped[str] = mapped_column(ForeignKey("activity.code"))
    section: Mapped[str] = mapped_column(String(1), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.iso"), index=True)
    address: Mapped[str] = mapped_column(String(400), default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    size_band: Mapped[str] = mapped_column(String(10))
    hazardous: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(default=1)
    activity: Mapped[Activity] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")


class Site(CreatedMixin, Base):
    __tablename__ = "site"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region.iso"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    zones: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)


class Worker(CreatedMixin, Base):
    """A person; the IIN is kept only as a keyed hash and a masked form (docs/privacy.md)."""

    __tablename__ = "worker"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    iin_hash: Mapped[str] = mapped_column(String(64), unique=True)
    iin_masked: Mapped[str] = mapped_column(String(16))
    last_name: Mapped[str] = mapped_column(String(120))
    first_name: Mapped[str] = mapped_column(String(120))
    patronymic: Mapped[str] = mapped_column(String(120), default="")
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    # Current employer, denormalised from Employment so scoping is one column comparison.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(5), index=True)


class Employment(CreatedMixin, Base):
    """An employment contract as registered in the unified employment-contract system."""

    __tablename__ = "employment"
    __scope__ = ScopeSpec(region="region_code", enterprise="enterprise_id")
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
        Index("ix_employment_enterprise_period", "enterprise_id", "start_date", "end_date"),
        Index("ix_employment_region_period", "region_code", "start_date", "end_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_no: Mapped[str] = mapped_column(String(40), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    region_code: Mapped[str] = mapped_column(String(5))
    section: Mapped[str] = mapped_column(String(1))
    occupation: Mapped[str] = mapped_column(String(200))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    monthly_wage: Mapped[int] = mapped_column(default=0)


class HeadcountChange(Base):
    """Net change of contracts in force per region, OKED section and period: +1 on a contract's
    start_date, -1 on end_date + 1, summed at three grains (D day, M month, Y year). Written only
    by database triggers on `employment` (migration 0005), in the writing transaction; read by
    `registry.headcount`. Headcount on D = Y before D's year + M before D's month + D up to D."""

    __tablename__ = "headcount_change"
    __scope__ = ScopeSpec(region="region_code")
    __table_args__ = (CheckConstraint("grain IN ('D', 'M', 'Y')", name="grain"),)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    starts_on: Mapped[date] = mapped_column(primary_key=True)
    region_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    section: Mapped[str] = mapped_column(String(1), primary_key=True)
    delta: Mapped[int]
