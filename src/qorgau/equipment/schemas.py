"""Equipment API shapes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qorgau.registry.schemas import SITE_KINDS

SITE_KIND = "^(" + "|".join(SITE_KINDS) + ")$"


class RequirementIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(pattern=r"^[a-z0-9_.]{3,40}$")
    site_kind: str = Field(pattern=SITE_KIND)
    section: str | None = Field(None, pattern="^[A-U]$")
    division: str | None = Field(None, pattern=r"^\d{2}$")
    name_kk: str = Field(min_length=3, max_length=300)
    name_ru: str = Field(min_length=3, max_length=300)
    name_en: str = Field(min_length=3, max_length=300)
    deadline: date
    active: bool = True


class RequirementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    site_kind: str
    section: str | None
    division: str | None
    name_kk: str
    name_ru: str
    name_en: str
    deadline: date
    active: bool
    revision: int


class InstallationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    site_id: int = Field(gt=0)
    requirement_code: str = Field(min_length=3, max_length=40)
    serial_no: str = Field(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9._/-]+$")
    model: str = Field("", max_length=200)
    commissioned_on: date


class InstallationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    requirement_id: int
    enterprise_id: int
    region_code: str
    serial_no: str
    model: str
    commissioned_on: date
    status: str
    last_heartbeat_at: datetime | None
    working: bool = False
    photo_count: int = 0
    has_act: bool = False


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    installation_id: int | None = Field(None, gt=0)
    serial_no: str | None = Field(None, min_length=3, max_length=60)
    at: datetime | None = Field(None, description="When the device reported; default now (UTC)")

    @model_validator(mode="after")
    def _one_key(self) -> HeartbeatIn:
        if (self.installation_id is None) == (self.serial_no is None):
            raise ValueError("give exactly one of installation_id or serial_no")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("at must carry a time zone")
        return self


class ComplianceRow(BaseModel):
    key: str
    required: int
    installed: int
    working: int
    pct: float


class ComplianceOut(BaseModel):
    group_by: str
    deadline: date | None
    total: ComplianceRow
    rows: list[ComplianceRow]
