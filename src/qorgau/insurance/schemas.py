"""Insurance API shapes. Batch rows are validated one by one so every bad row is reported."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from qorgau.core.identifiers import bin_problem
from qorgau.insurance.constants import CLAIM_STATES, MAX_BATCH_ROWS


class ContractIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    policy_no: str = Field(min_length=3, max_length=40)
    employer_bin: str = Field(description="Employer's 12-digit BIN", examples=["100140000005"])
    start_date: date
    end_date: date
    insured_headcount: int = Field(ge=0, le=1_000_000)
    payroll: Decimal = Field(
        ge=0,
        max_digits=18,
        decimal_places=2,
        description="Annual payroll of the insured employees, KZT",
    )
    risk_class: int = Field(ge=1, le=22)
    premium: Decimal = Field(ge=0, max_digits=18, decimal_places=2, description="KZT")

    @field_validator("employer_bin")
    @classmethod
    def _bin(cls, v: str) -> str:
        problem = bin_problem(v)
        if problem:
            raise ValueError(f"invalid BIN: {problem}")
        return v

    @field_validator("end_date")
    @classmethod
    def _period(cls, v: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and v < start:
            raise ValueError("period ends before it starts")
        return v


class ContractBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contracts: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH_ROWS,
        description="Rows shaped like ContractIn; applied whole or not at all",
    )


class ContractOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    policy_no: str
    employer_bin: str
    enterprise_id: int
    region_code: str
    insurer_org_id: int
    start_date: date
    end_date: date
    insured_headcount: int
    payroll: Decimal
    risk_class: int
    tariff_pct: Decimal
    premium: Decimal


class BatchOut(BaseModel):
    applied: int
    batch_ref: str


class GapOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    enterprise_id: int
    region_code: str
    insurer_org_id: int | None
    kind: str
    opened_on: date
    closed_on: date | None
    register_headcount: int
    insured_headcount: int
    register_payroll: Decimal
    insured_payroll: Decimal
    contract_id: int | None


class RecomputeOut(BaseModel):
    on: date
    opened: int
    closed: int
    open_total: int
    seconds: float


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    policy_no: str = Field(min_length=3, max_length=40)
    accident_ref: str = Field(min_length=1, max_length=60, description="Accident ID or number")
    amount: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
    filed_on: date


class ClaimStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: str = Field(pattern="^(" + "|".join(CLAIM_STATES) + ")$")
    note: str = Field("", max_length=500)


class ClaimOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    contract_id: int
    enterprise_id: int
    accident_ref: str
    accident_id: int | None
    state: str
    amount: Decimal
    filed_on: date
