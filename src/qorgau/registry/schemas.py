"""API shapes for the registry; validation at the edge names the field and the reason."""

from __future__ import annotations

from datetime import date

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from qorgau.core.identifiers import bin_problem, iin_problem

SIZE_BANDS = ("micro", "small", "medium", "large")
SITE_KINDS = (
    "mine",
    "open_pit",
    "plant",
    "construction",
    "oil_gas",
    "power",
    "warehouse",
    "office",
)


class EnterpriseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    bin: str = Field(
        description="12-digit business identification number", examples=["100140000005"]
    )
    name: str = Field(min_length=2, max_length=300)
    activity_code: str = Field(min_length=1, max_length=8, description="OKED section or division")
    region_code: str = Field(pattern=r"^KZ-\d{2}$", examples=["KZ-35"])
    address: str = Field("", max_length=400)
    lon: float = Field(ge=46.0, le=88.0, description="Longitude inside Kazakhstan")
    lat: float = Field(ge=40.0, le=56.0, description="Latitude inside Kazakhstan")
    size_band: str = Field(pattern="^(micro|small|medium|large)$")
    hazardous: bool = False

    @field_validator("bin")
    @classmethod
    def _bin(cls, v: str) -> str:
        problem = bin_problem(v)
        if problem:
            raise ValueError(f"invalid BIN: {problem}")
        return v


class EnterprisePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str | None = Field(None, min_length=2, max_length=300)
    activity_code: str | None = Field(None, min_length=1, max_length=8)
    address: str | None = Field(None, max_length=400)
    lon: float | None = Field(None, ge=46.0, le=88.0)
    lat: float | None = Field(None, ge=40.0, le=56.0)
    size_band: str | None = Field(None, pattern="^(micro|small|medium|large)$")
    hazardous: bool | None = None
    reason: str = Field(min_length=3, max_length=500, description="Why the record changes")


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    bin: str
    name: str
    activity_code: str
    section: str
    region_code: str
    address: str
    lon: float
    lat: float
    size_band: str
    hazardous: bool
    revision: int


class ZoneIn(BaseModel):
    """A zone of a site (a mine's longwall, its shaft-station muster point): the code is what
    wearables' position readings and withdraw orders name, so it is required and unique. A
    zone without one named no zone (its safe muster point counted nobody out)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=40)  # a reading's "z" is at most 40
    name: str = Field("", max_length=200)
    kind: str = Field("working", pattern="^(working|safe)$")


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    enterprise_id: int = Field(gt=0)
    kind: str = Field(pattern="^(" + "|".join(SITE_KINDS) + ")$")
    name: str = Field(min_length=2, max_length=300)
    lon: float = Field(ge=46.0, le=88.0)
    lat: float = Field(ge=40.0, le=56.0)
    zones: list[ZoneIn] = Field(default_factory=list, max_length=500)

    @field_validator("zones")
    @classmethod
    def _unique_codes(cls, zones: list[ZoneIn]) -> list[ZoneIn]:
        seen: set[str] = set()
        twice = {z.code for z in zones if z.code in seen or seen.add(z.code)}
        if twice:
            raise ValueError(f"zone codes given twice: {', '.join(sorted(twice))}")
        return zones


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    enterprise_id: int
    region_code: str
    kind: str
    name: str
    lon: float
    lat: float
    zones: list[dict[str, object]]


class WorkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    iin: str = Field(description="12-digit IIN; stored only as a keyed hash")
    last_name: str = Field(min_length=1, max_length=120)
    first_name: str = Field(min_length=1, max_length=120)
    patronymic: str = Field("", max_length=120)

    @field_validator("iin")
    @classmethod
    def _iin(cls, v: str, info: ValidationInfo) -> str:
        if info.context and info.context.get("iin_checked"):
            return v  # a bulk feed checked this IIN with the others, by the same rules
        problem = iin_problem(v)
        if problem:
            raise ValueError(f"invalid IIN: {problem}")
        return v


class WorkerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    iin_masked: str
    last_name: str
    first_name: str
    patronymic: str
    birth_date: date
    sex: str
    enterprise_id: int | None


class EmploymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    contract_no: str = Field(min_length=1, max_length=40)
    worker: WorkerIn
    enterprise_bin: str = Field(min_length=12, max_length=12)
    occupation: str = Field(min_length=1, max_length=200)
    start_date: date
    end_date: date | None = None
    monthly_wage: int = Field(0, ge=0, le=100_000_000)

    @model_validator(mode="after")
    def _period(self) -> EmploymentIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class EmploymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    contract_no: str
    worker_id: int
    enterprise_id: int
    occupation: str
    start_date: date
    end_date: date | None


class HeadcountOut(BaseModel):
    on: date
    group_by: str
    rows: list[dict[str, object]]
    total: int


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    iso: str
    kind: str
    name_kk: str
    name_ru: str
    name_en: str
    lon: float
    lat: float


class ActivityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    level: str
    section: str
    name_kk: str
    name_ru: str
    name_en: str
    risk_class: int | None
