"""Inspections API shapes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

FACILITY = "^(mine|chemical|gas|oil|metallurgy|explosives|lifting|boiler)$"
DEVICE = "^(crane|boiler|pressure_vessel|lift)$"


class FacilityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    enterprise_id: int = Field(gt=0)
    site_id: int | None = Field(None, gt=0)
    reg_no: str = Field(min_length=3, max_length=40)
    name: str = Field(min_length=2, max_length=300)
    kind: str = Field(pattern=FACILITY)
    hazard_class: int = Field(ge=1, le=4, description="1 = highest hazard")
    declaration_date: date | None = None
    expert_exam_due: date | None = None


class FacilityOut(FacilityIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    region_code: str


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    enterprise_id: int = Field(gt=0)
    facility_id: int | None = Field(None, gt=0)
    reg_no: str = Field(min_length=3, max_length=40)
    kind: str = Field(pattern=DEVICE)
    last_exam: date | None = None
    exam_due: date


class DeviceOut(DeviceIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    region_code: str


class ExaminationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    examined_on: date
    next_due: date

    @field_validator("next_due")
    @classmethod
    def _after(cls, v: date, info: Any) -> date:
        if info.data.get("examined_on") and v <= info.data["examined_on"]:
            raise ValueError("next_due must be after examined_on")
        return v


class Component(BaseModel):
    name: str
    points: float
    reason: str


class ScoreOut(BaseModel):
    enterprise_id: int
    total: float
    components: list[Component]
    skipped: list[Component]


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    authority: str = Field(pattern="^(labour|industrial)$")
    period_start: date
    period_end: date
    region_code: str | None = Field(
        None, pattern=r"^KZ-\d{2}$", description="Admins only; inspectors plan their region"
    )

    @field_validator("period_end")
    @classmethod
    def _period(cls, v: date, info: Any) -> date:
        start = info.data.get("period_start")
        if start and v < start:
            raise ValueError("period ends before it starts")
        if start and (v - start).days > 366:
            raise ValueError("a plan covers at most a year")
        return v


class PlanItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    enterprise_id: int
    rank: int
    score: float
    reasons: list[dict[str, Any]]


class PlanOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    region_code: str
    authority: str
    period_start: date
    period_end: date
    capacity: int
    candidates: int
    items: list[PlanItemOut] = []


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    per_month: int = Field(ge=0, le=10_000)


class PhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("photo.jpg", max_length=200)
    data_base64: str = Field(max_length=4_500_000)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    item_code: str = Field(min_length=1, max_length=12)
    result: str = Field(pattern="^(ok|violation|na)$")
    note: str = Field("", max_length=2000)
    due_days: int = Field(30, ge=1, le=365, description="Prescription deadline if a violation")
    photos: list[PhotoIn] = Field(default_factory=list, max_length=3)


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    client_uuid: str = Field(
        pattern=r"^[0-9a-fA-F-]{36}$",
        description="Generated on the device; a re-sent submission syncs once",
    )
    enterprise_id: int = Field(gt=0)
    plan_item_id: int | None = Field(None, gt=0)
    follow_up_of: int | None = Field(None, gt=0, description="Prescription being checked")
    started_at: datetime
    finished_at: datetime
    note: str = Field("", max_length=4000)
    answers: list[AnswerIn] = Field(min_length=1, max_length=200)


class InspectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    client_uuid: str
    enterprise_id: int
    region_code: str
    authority: str
    kind: str
    started_at: datetime
    finished_at: datetime
    violations: int = 0
    duplicate: bool = False


class PrescriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    violation_id: int
    enterprise_id: int
    issued_on: date
    due_date: date
    state: str


class FineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    legal_basis: str = Field(
        min_length=3, max_length=200, description="Article of the Code of Administrative Offences"
    )
    imposed_on: date


class FineOut(FineIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    violation_id: int
    enterprise_id: int


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    filed_on: date
    grounds: str = Field(min_length=5, max_length=4000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(pattern="^(upheld|overturned|reduced)$")
    decided_on: date


class AppealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    fine_id: int
    filed_on: date
    grounds: str
    decision: str
    decided_on: date | None
