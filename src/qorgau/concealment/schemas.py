"""API shapes for evidence feeds, runs, estimates and cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_BATCH = 5000


class EvidenceIn(BaseModel):
    """One row of a feed. Clear IINs are hashed at the edge and never stored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    source_ref: str = Field(min_length=1, max_length=100, description="The source's own id")
    iin: str | None = Field(None, max_length=20, description="12-digit IIN (hashed on receipt)")
    last_name: str = Field("", max_length=120)
    first_name: str = Field("", max_length=120)
    birth_date: date | None = None
    employer_bin: str | None = Field(None, max_length=20)
    event_date: date
    end_date: date | None = None
    icd10: str | None = Field(None, max_length=8, description="ICD-10 S00–T98, e.g. S52.5")
    cause_code: str | None = Field(None, max_length=4, description="Sick-leave cause code")
    work_related: bool | None = None
    fatal: bool = False
    facility: str = Field("", max_length=200)
    region_code: str | None = Field(None, pattern=r"^KZ-\d{2}$")
    text: str = Field("", max_length=2000)


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class RowError(BaseModel):
    index: int
    field: str
    reason: str


class RowResult(BaseModel):
    index: int
    status: str  # created | duplicate
    id: int
    iin_valid: bool | None = None


class BatchOut(BaseModel):
    source: str
    created: int
    duplicates: int
    flagged_iin: int
    rows: list[RowResult]


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = None
    since: date | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    as_of: date
    stats: dict[str, Any]


class EstimateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    region_code: str
    section: str
    method: str
    registered: int
    observed: int
    n_hat: float
    ci_low: float
    ci_high: float
    under_reporting: float


class EnterpriseSignalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    enterprise_id: int
    region_code: str
    headcount: int
    observed: int
    expected: float
    p_low: float
    score: float
    unreported_episodes: int


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    region_code: str
    enterprise_id: int
    worker_id: int | None
    event_date: date | None
    score: float
    probability: float
    state: str
    explanation: dict[str, Any]
    evidence_ids: list[int]
    accident_id: int | None
    registration: str
    violation_ref: str | None


class CaseTransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    to_state: str = Field(pattern="^(open|checking|confirmed|unfounded)$")
    note: str = Field("", max_length=2000)


class EvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    source: str
    source_ref: str
    iin_valid: bool
    last_name: str
    first_name: str
    birth_date: date | None
    employer_bin: str | None
    enterprise_id: int | None
    region_code: str | None
    event_date: date
    icd10: str | None
    cause_code: str | None
    work_related: bool | None
    fatal: bool
    facility: str


class PrecisionOut(BaseModel):
    confirmed: int
    unfounded: int
    precision: float | None
    by_kind: dict[str, dict[str, Any]]


class ReviewCandidateOut(BaseModel):
    worker_id: int
    weight: float
    probability: float  # against the record's other candidates
    enterprise_id: int | None  # employer on the event date
    region_code: str | None


class LinkResolutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    evidence_id: int
    review_id: int
    revision: int
    worker_id: int | None
    reason: str
    actor: str
    at: datetime


class LinkReviewOut(BaseModel):
    id: int
    run_id: int
    evidence_id: int
    source: str
    event_date: date
    region_code: str | None
    best_probability: float
    candidates: list[ReviewCandidateOut]
    last_name: str
    first_name: str
    birth_date: date | None
    resolution: LinkResolutionOut | None


class LinkResolutionIn(BaseModel):
    """The right worker among the item's candidates, or null for none of them; why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    worker_id: int | None = Field(description="One of the item's candidates; null = none")
    reason: str = Field(min_length=3, max_length=2000)
