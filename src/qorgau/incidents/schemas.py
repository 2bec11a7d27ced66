"""API shapes for accidents, investigations, acts and hazard reports (422 names the field)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from qorgau.core.identifiers import iin_problem
from qorgau.incidents import coding

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VictimIn(BaseModel):
    model_config = _STRICT
    iin: str | None = Field(None, description="12-digit IIN; stored only as a keyed hash")
    full_name: str = Field("", max_length=300, description="Required when no IIN is given")
    birth_date: date | None = Field(None, description="Required when no IIN is given")
    severity: str = Field(pattern="^(minor|severe|fatal)$")
    icd10: str | None = Field(None, max_length=8, description="ICD-10 S00–T98, e.g. S62.3")

    @field_validator("iin")
    @classmethod
    def _iin(cls, v: str | None) -> str | None:
        if v:
            problem = iin_problem(v)
            if problem:
                raise ValueError(f"invalid IIN: {problem}")
        return v or None

    @field_validator("icd10")
    @classmethod
    def _icd(cls, v: str | None) -> str | None:
        if v:
            try:
                coding.icd10_block(v)
            except coding.CodingError as exc:
                raise ValueError(str(exc)) from None
            return coding.normalize_icd10(v)
        return None

    @model_validator(mode="after")
    def _identity(self) -> VictimIn:
        if not self.iin and (len(self.full_name) < 3 or self.birth_date is None):
            raise ValueError(
                "give an IIN, or the full name and birth date of an unidentified victim"
            )
        return self


ESAW_FIELDS = ("esaw_deviation", "esaw_contact", "esaw_injury_type", "esaw_body_part")


def _esaw_field(v: str | None, info: ValidationInfo) -> str | None:
    variable = str(info.field_name).removeprefix("esaw_")
    return _esaw(variable, v)  # type: ignore[arg-type]


def _esaw(variable: coding.EsawVariable, v: str | None) -> str | None:
    if v and not coding.is_valid_esaw(variable, v):
        raise ValueError(f"{v!r} is not an ESAW {variable} code")
    return v.strip() if v else None


class AccidentIn(BaseModel):
    model_config = _STRICT
    enterprise_id: int | None = Field(None, gt=0, description="Defaults to the caller's enterprise")
    site_id: int | None = Field(None, gt=0)
    occurred_at: datetime = Field(description="When it happened (timezone-aware)")
    severity: str = Field(pattern="^(minor|severe|fatal)$")
    circumstances: str = Field(min_length=10, max_length=20_000)
    victims: list[VictimIn] = Field(min_length=1, max_length=200)
    esaw_deviation: str | None = Field(None, max_length=4)
    esaw_contact: str | None = Field(None, max_length=4)
    esaw_injury_type: str | None = Field(None, max_length=4)
    esaw_body_part: str | None = Field(None, max_length=4)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-03-02T10:15:00+05:00")
        return v

    _esaw_codes = field_validator(*ESAW_FIELDS)(
        classmethod(lambda cls, v, info: _esaw_field(v, info))
    )


class AccidentRevise(BaseModel):
    """A correction after submission: a new revision with a reason."""

    model_config = _STRICT
    reason: str = Field(min_length=3, max_length=500)
    severity: str | None = Field(None, pattern="^(minor|severe|fatal)$")
    circumstances: str | None = Field(None, min_length=10, max_length=20_000)
    esaw_deviation: str | None = Field(None, max_length=4)
    esaw_contact: str | None = Field(None, max_length=4)
    esaw_injury_type: str | None = Field(None, max_length=4)
    esaw_body_part: str | None = Field(None, max_length=4)

    _esaw_codes = field_validator(*ESAW_FIELDS)(
        classmethod(lambda cls, v, info: _esaw_field(v, info))
    )


class VictimOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    worker_id: int | None
    iin_masked: str | None
    full_name: str
    birth_date: date | None
    severity: str
    employed_here: bool
    icd10: str | None


class AccidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    enterprise_id: int
    region_code: str
    section: str
    site_id: int | None
    occurred_at: datetime
    reported_at: datetime
    severity: str
    circumstances: str
    esaw_deviation: str | None
    esaw_contact: str | None
    esaw_injury_type: str | None
    esaw_body_part: str | None
    cause_code: str | None
    victims_count: int
    fatalities: int
    late_report: bool
    flags: list[str]
    state: str
    revision: int
    victims: list[VictimOut]


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    accident_id: int | None
    filename: str
    mime: str
    size: int
    sha256: str


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    recipient: str
    reference: str
    status: str
    created_at: datetime


class DeadlineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    accident_id: int
    enterprise_id: int
    region_code: str
    inspector_id: int | None
    kind: str
    due_at: datetime
    met_at: datetime | None
    extended_reason: str | None
    overdue: bool = False


class MemberIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=2, max_length=200)
    position: str = Field(min_length=2, max_length=200)
    chair: bool = False


class CommissionIn(BaseModel):
    model_config = _STRICT
    members: list[MemberIn] = Field(min_length=3, max_length=20)


class FindingsIn(BaseModel):
    model_config = _STRICT
    reason: str = Field("initial findings", min_length=3, max_length=500)
    findings: str = Field(min_length=10, max_length=50_000)
    causes: list[str] = Field(min_length=1, max_length=10)
    fault_employer_pct: int = Field(ge=0, le=100)
    fault_worker_pct: int = Field(ge=0, le=100)

    @field_validator("causes")
    @classmethod
    def _causes(cls, v: list[str]) -> list[str]:
        out = []
        for code in v:
            try:
                out.append(coding.cause(code).code)
            except coding.CodingError as exc:
                raise ValueError(str(exc)) from None
        return out


class ExtensionIn(BaseModel):
    model_config = _STRICT
    working_days: int = Field(ge=1, le=30)
    reason: str = Field(min_length=5, max_length=500)


class ActionIn(BaseModel):
    model_config = _STRICT
    description: str = Field(min_length=5, max_length=1000)
    owner: str = Field(min_length=2, max_length=200)
    due_date: date


class ActionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    accident_id: int
    description: str
    owner: str
    due_date: date
    status: str
    done_at: datetime | None


class InvestigationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    accident_id: int
    kind: str
    inspector_id: int | None
    commission: list[dict[str, Any]]
    findings: str
    causes: list[str]
    fault_employer_pct: int | None
    fault_worker_pct: int | None
    extension_days: int
    extension_reason: str | None
    completed_at: datetime | None
    revision: int


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    object_type: str
    object_id: int
    number: int
    reason: str
    actor: str
    at: datetime
    diff: dict[str, Any]


class SignIn(BaseModel):
    model_config = _STRICT
    reason: str = Field("initial act", min_length=3, max_length=500)


class ActOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    accident_id: int
    revision: int
    lang: str
    sha256: str
    signer: str
    signed_by: str
    signed_at: datetime
    reason: str
    registered_at: datetime | None


class VerifyOut(BaseModel):
    act_id: int
    valid: bool
    reason: str
    signer: str


class HazardStatusIn(BaseModel):
    model_config = _STRICT
    status: str = Field(pattern="^(new|acknowledged|resolved)$")
    note: str = Field("", max_length=1000)


class HazardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    enterprise_id: int
    region_code: str
    kind: str
    description: str
    location: str
    status: str
    status_note: str
    created_at: datetime


class HazardStatusOut(BaseModel):
    code: str
    kind: str
    status: str
    status_note: str
    created_at: datetime
    updated_at: datetime
