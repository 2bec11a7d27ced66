"""Pydantic shapes of the alarm API (extra fields forbidden; a 422 names the field)."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from qorgau.alarms.constants import LIMIT_FIELDS, QUANTITIES, RESOLUTIONS

DeviceKind = Literal["gas", "dust", "temperature", "ventilation", "seismic", "wearable"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Limits(Strict):
    """Alarm limits of one device; None = unused. Checked for order and sign."""

    high: float | None = None
    highhigh: float | None = None
    low: float | None = None
    lowlow: float | None = None
    deadband: float | None = Field(None, ge=0)
    on_delay_s: float | None = Field(None, ge=0, le=3600)
    off_delay_s: float | None = Field(None, ge=0, le=3600)
    ror_per_min: float | None = Field(None, gt=0)
    stale_s: float | None = Field(None, ge=5, le=86400)
    twa_limit: float | None = Field(None, gt=0)
    stel_limit: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def ordered(self) -> Limits:
        for name in LIMIT_FIELDS:
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number")
        pairs = [("high", "highhigh"), ("lowlow", "low"), ("low", "high")]
        for a, b in pairs:
            va, vb = getattr(self, a), getattr(self, b)
            if va is not None and vb is not None and va > vb:
                raise ValueError(f"{a} must not exceed {b}")
        return self


class DeviceIn(Strict):
    site_id: int
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: DeviceKind
    quantity: str = Field(max_length=20)
    zone_code: str = Field("", max_length=40)
    limits: Limits | None = None  # None = defaults for the site kind
    calibrated_on: date | None = None
    calibration_due: date | None = None
    installation_id: int | None = None
    worker_id: int | None = None

    @model_validator(mode="after")
    def quantity_fits(self) -> DeviceIn:
        if self.quantity not in QUANTITIES[self.kind]:
            raise ValueError(f"quantity must be one of {', '.join(QUANTITIES[self.kind])}")
        done, due = self.calibrated_on, self.calibration_due
        if done and due and due < done:
            raise ValueError("calibration_due must not be before calibrated_on")
        return self


class DevicePatch(Strict):
    limits: Limits | None = None
    zone_code: str | None = Field(None, max_length=40)
    calibrated_on: date | None = None
    calibration_due: date | None = None
    enabled: bool | None = None
    reason: str = Field(min_length=3, max_length=300)


class DeviceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    code: str
    kind: str
    quantity: str
    zone_code: str
    limits: dict[str, float | None]
    life_safety: bool
    calibrated_on: date | None
    calibration_due: date | None
    enabled: bool
    revision: int
    last_seen_at: datetime | None
    last_value: float | None
    n_accepted: int
    n_duplicate: int
    n_rejected: int


class GatewayIn(Strict):
    site_id: int
    name: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9_-]+$")


class GatewayOut(BaseModel):
    id: int
    name: str
    key: str  # shown once


class AlarmOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    device_id: int | None
    site_id: int
    zone_code: str
    kind: str
    priority: int
    life_safety: bool
    state: str
    active: bool
    open: bool
    message: str
    value: float | None
    peak: float | None
    raised_at: datetime
    cleared_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    shelved_until: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    tier: int


class AlarmEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    frm: str
    to: str
    trigger: str
    actor: str
    at: datetime
    reason: str


class AckIn(Strict):
    note: str = Field("", max_length=300)


class ShelveIn(Strict):
    reason: str = Field(min_length=3, max_length=300)
    minutes: int = Field(ge=1, le=12 * 60)


class ResolveIn(Strict):
    resolution: str
    note: str = Field("", max_length=300)

    @field_validator("resolution")
    @classmethod
    def known(cls, v: str) -> str:
        if v not in RESOLUTIONS:
            raise ValueError(f"resolution must be one of {', '.join(RESOLUTIONS)}")
        return v


class ContactIn(Strict):
    site_id: int
    tier: int = Field(ge=1, le=4)
    role: Literal["dispatcher", "mine_rescue", "inspectorate", "management"]
    channel: Literal["inapp", "webhook", "email", "sms"]
    target: str = Field(min_length=3, max_length=300)
    secret: str = Field("", max_length=100)
    min_priority: int = Field(3, ge=1, le=3)


class WithdrawIn(Strict):
    zones: list[str] = Field(default_factory=list, max_length=50)
    alarm_id: int | None = None


class ReadingIn(Strict):
    """One reading of a batch: device code, sequence number, time (Unix s), value or event."""

    d: str = Field(min_length=1, max_length=64)
    s: int = Field(ge=0)
    t: float
    v: float | None = None
    e: Literal["FALL", "SOS", "NO_MOTION", "RESET"] | None = None
    z: str | None = Field(None, max_length=40)  # wearable: zone


class BatchIn(Strict):
    site_id: int
    readings: list[ReadingIn] = Field(max_length=20_000)


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    alarms: int
