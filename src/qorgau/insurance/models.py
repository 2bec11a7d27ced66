"""Compulsory accident insurance: contracts, coverage gaps and claims."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec

MONEY = Numeric(18, 2)


class InsuranceContract(CreatedMixin, Base):
    """One policy as sent by the insurer; contracts are replaced by new policies, not edited."""

    __tablename__ = "insurance_contract"
    __scope__ = ScopeSpec(
        region="region_code", enterprise="enterprise_id", organisation="insurer_org_id"
    )
    __table_args__ = (
        CheckConstraint("end_date >= start_date", name="period"),
        CheckConstraint(
            "payroll >= 0 AND premium >= 0 AND insured_headcount >= 0", name="non_negative"
        ),
        Index("ix_insurance_contract_enterprise_period", "enterprise_id", "start_date", "end_date"),
        Index("ix_insurance_contract_insurer", "insurer_org_id", "end_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_no: Mapped[str] = mapped_column(String(40), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    employer_bin: Mapped[str] = mapped_column(String(12))
    region_code: Mapped[str] = mapped_column(String(5), index=True)
    insurer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    start_date: Mapped[date]
    end_date: Mapped[date]
    insured_headcount: Mapped[int]
    payroll: Mapped[Decimal] = mapped_column(MONEY)
    risk_class: Mapped[int]
    tariff_pct: Mapped[Decimal] = mapped_column(Numeric(6, 3))
    premium: Mapped[Decimal] = mapped_column(MONEY)
    batch_ref: Mapped[str] = mapped_column(String(40), default="")


class CoverageGap(Base):
    """An open (closed_on is NULL) or closed finding of the daily recomputation."""

    __tablename__ = "coverage_gap"
    __scope__ = ScopeSpec(
        region="region_code", enterprise="enterprise_id", organisation="insurer_org_id"
    )
    __table_args__ = (
        Index("ix_coverage_gap_open", "closed_on", "enterprise_id", "kind"),
        Index("ix_coverage_gap_region", "region_code", "closed_on"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    insurer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(20))
    opened_on: Mapped[date]
    closed_on: Mapped[date | None]
    register_headcount: Mapped[int] = mapped_column(default=0)
    insured_headcount: Mapped[int] = mapped_column(default=0)
    register_payroll: Mapped[Decimal] = mapped_column(MONEY, default=0)
    insured_payroll: Mapped[Decimal] = mapped_column(MONEY, default=0)
    contract_id: Mapped[int | None]
    created_at: Mapped[datetime]


class InsuranceClaim(CreatedMixin, Base):
    """A claim under a contract, linked to an accident (by reference until incidents land)."""

    __tablename__ = "insurance_claim"
    __scope__ = ScopeSpec(
        region="region_code", enterprise="enterprise_id", organisation="insurer_org_id"
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("insurance_contract.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(5))
    insurer_org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # accident_ref keeps the number as the insurer sent it; accident_id links the register's
    # row when the reference is a known accident id (nullable: claims may predate the report).
    accident_ref: Mapped[str] = mapped_column(String(60), index=True)
    accident_id: Mapped[int | None] = mapped_column(ForeignKey("accident.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="filed")
    amount: Mapped[Decimal] = mapped_column(MONEY, default=0)
    filed_on: Mapped[date]
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
