"""Risk API shapes (Pydantic v2, extra="forbid"; a bad field gives a 422 naming it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qorgau.risk.constants import ActionStatus, ControlLevel, HazardType, Method, ReviewTrigger


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SettingsIn(_In):
    method: Method
    review_months: int = Field(12, ge=1, le=60)
    matrix_low_max: int = Field(4, ge=1, le=24)
    matrix_medium_max: int = Field(9, ge=1, le=24)
    matrix_high_max: int = Field(16, ge=1, le=24)
    fk_low_max: float = Field(20, gt=0)
    fk_possible_max: float = Field(70, gt=0)
    fk_substantial_max: float = Field(200, gt=0)
    fk_high_max: float = Field(400, gt=0)
    acceptable_bands: list[Literal["low", "medium", "high", "very_high"]] = ["low", "medium"]


class SettingsOut(_Out):
    enterprise_id: int
    method: str
    review_months: int
    criteria: dict[str, Any]


class HazardIn(_In):
    enterprise_id: int
    site_id: int | None = None
    workplace: str = Field("", max_length=300)
    occupation: str = Field("", max_length=200)
    hazard_type: HazardType
    description: str = Field(min_length=3, max_length=4000)
    exposed_groups: str = Field("", max_length=300)
    headcount: int = Field(0, ge=0, le=1_000_000)


class HazardOut(_Out):
    id: int
    enterprise_id: int
    site_id: int | None
    workplace: str
    occupation: str
    hazard_type: str
    description: str
    exposed_groups: str
    headcount: int
    template_ref: str


class ControlIn(_In):
    level: ControlLevel
    text: str = Field(min_length=2, max_length=2000)
    requires_instruction: bool = False


class ControlOut(_Out):
    id: int
    level: str
    text: str
    requires_instruction: bool


class AssessmentIn(_In):
    """Scores are plain scale values: 5×5 {likelihood, severity}; Fine–Kinney
    {probability, exposure, consequence}. Values are checked against the enterprise's method."""

    hazard_id: int
    initial: dict[str, Any]
    residual: dict[str, Any] | None = None
    residual_reason: str = Field("", max_length=2000)
    controls: list[ControlIn] = Field(default_factory=list, max_length=50)


class AssessmentPatch(_In):
    initial: dict[str, Any] | None = None
    residual: dict[str, Any] | None = None
    residual_reason: str | None = Field(None, max_length=2000)
    controls: list[ControlIn] | None = Field(None, max_length=50)


class AssessmentOut(_Out):
    id: int
    hazard_id: int
    enterprise_id: int
    revision: int
    status: str
    method: str
    initial: dict[str, Any]
    residual: dict[str, Any] | None
    initial_score: float
    initial_band: str
    residual_score: float | None
    residual_band: str | None
    current_band: str
    method_band: str
    acceptable: bool
    residual_reason: str
    flags: list[str]
    review_due: date | None
    signed_by: str | None
    signed_at: datetime | None
    trigger: str | None
    trigger_note: str
    controls: list[ControlOut]


class SignIn(_In):
    review_due: date | None = None


class ReviewIn(_In):
    trigger: ReviewTrigger
    note: str = Field("", max_length=1000)


class FromTemplateIn(_In):
    enterprise_id: int
    site_id: int | None = None
    sector: str | None = Field(None, description="Default: from the enterprise's OKED section")


class FromTemplateOut(BaseModel):
    sector: str
    hazards: int
    assessments: int
    controls: int


class ActionIn(_In):
    enterprise_id: int
    hazard_id: int | None = None
    kind: Literal["corrective", "preventive"] = "corrective"
    title: str = Field(min_length=3, max_length=500)
    owner: str = Field(min_length=2, max_length=200)
    due_date: date
    accident_ref: str = Field("", max_length=60)
    root_cause: str = Field("", max_length=1000)


class ActionStatusIn(_In):
    status: ActionStatus


class EvidenceOut(_Out):
    id: int
    filename: str
    mime: str
    size: int
    sha256: str


class ActionOut(_Out):
    id: int
    enterprise_id: int
    hazard_id: int | None
    kind: str
    title: str
    owner: str
    due_date: date
    status: str
    accident_ref: str
    root_cause: str
    closed_on: date | None
    evidence: list[EvidenceOut]


class VisionZeroIn(_In):
    enterprise_id: int
    on_date: date | None = None
    answers: dict[str, int | str | None]


class VisionZeroOut(_Out):
    id: int
    enterprise_id: int
    on_date: date
    total_pct: float | None
    rules: dict[str, Any]


class InstructionIn(_In):
    """worker_id: required when the OSH officer records it on a worker's behalf; a worker whose
    account is linked to their registry record leaves it out (or gives their own)."""

    hazard_id: int
    worker_id: int | None = None
    confirmed_on: date | None = None
    valid_months: int = Field(12, ge=1, le=36)


class InstructionOut(_Out):
    id: int
    hazard_id: int
    worker_id: int
    confirmed_on: date
    expires_on: date
    on_behalf: bool


ID_MAX = 2_147_483_647  # an id past the column's range is the client's error (422), not a 500


class HoursIn(_In):
    year: int = Field(ge=2000, le=2100)
    month: int = Field(ge=1, le=12)
    hours: float = Field(ge=0, le=1_000_000_000)
    note: str = Field("", max_length=500)


class HoursOut(_Out):
    id: int
    enterprise_id: int
    year: int
    month: int
    hours: float
    revision: int
    note: str
    created_by: str
    created_at: datetime


class NearMissIn(_In):
    enterprise_id: int = Field(gt=0, le=ID_MAX)
    site_id: int | None = Field(None, gt=0, le=ID_MAX)
    hazard_id: int | None = Field(None, gt=0, le=ID_MAX)
    occurred_on: date
    hazard_type: HazardType
    potential_severity: Literal["minor", "severe", "fatal"]
    description: str = Field(min_length=10, max_length=4000)


class NearMissOut(_Out):
    id: int
    enterprise_id: int
    site_id: int | None
    hazard_id: int | None
    occurred_on: date
    hazard_type: str
    potential_severity: str
    description: str
    created_at: datetime


class WorkerLinkIn(_In):
    user_id: int = Field(gt=0, le=ID_MAX)
    worker_id: int = Field(gt=0, le=ID_MAX)


class WorkerLinkOut(_Out):
    id: int
    enterprise_id: int
    user_id: int
    worker_id: int
    created_by: str
    created_at: datetime
    unlinked_at: datetime | None
