"""API shapes for accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from qorgau.core.openapi import INT_MAX
from qorgau.core.roles import Role


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=80, pattern=r"^[a-z0-9_.\-]+$")
    full_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=10, max_length=200)
    role: Role
    organisation_id: int = Field(gt=0, le=INT_MAX)
    language: str = Field("ru", pattern="^(kk|ru|en)$")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    full_name: str
    role: str
    organisation_id: int
    language: str
    active: bool


class MeOut(BaseModel):
    username: str
    name: str
    role: str
    organisation_id: int | None
    region: str | None
    enterprise_id: int | None


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    organisation_id: int = Field(gt=0)
    feed: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_.\-]+$")
    rate_per_minute: int = Field(600, ge=1, le=100_000)
    valid_days: int = Field(365, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    prefix: str
    feed: str
    organisation_id: int
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Shown once; only its digest is stored")


class OrganisationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    name: str
    region_code: str | None
    enterprise_id: int | None
