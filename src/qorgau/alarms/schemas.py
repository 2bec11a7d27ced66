"""Pydantic shapes of the alarm API (extra fields forbidden; a 422 names the field)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from qorgau.alarms.constants import (
    LIMIT_FIELDS,
    MAX_SHIFTS,
    MIN_SHIFT_MINUTES,
    QUANTITIES,
    RESOLUTIONS,
)
from qorgau.core.openapi import INT_MAX

Lang = Literal["kk", "ru", "en"]
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

    @field_validator(*LIMIT_FIELDS)
    @classmethod
    def finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    # Fields are validated in declaration order, so each check sees the limits above it and
    # the error is reported on the field that breaks the order (a 422 naming it).
    @field_validator("highhigh")
    @classmethod
    def hihi_above_hi(cls, v: float | None, info: ValidationInfo) -> float | None:
        hi = info.data.get("high")
        if v is not None and hi is not None and v < hi:
            raise ValueError(f"HIHI must be at least HI ({hi:g})")
        return v

    @field_validator("low")
    @classmethod
    def lo_below_hi(cls, v: float | None, info: ValidationInfo) -> float | None:
        hi = info.data.get("high")
        if v is not None and hi is not None and v > hi:
            raise ValueError(f"LO must not exceed HI ({hi:g})")
        return v

    @field_validator("lowlow")
    @classmethod
    def lolo_below_lo(cls, v: float | None, info: ValidationInfo) -> float | None:
        lo = info.data.get("low")
        if v is not None and lo is not None and v > lo:
            raise ValueError(f"LOLO must not exceed LO ({lo:g})")
        return v

    @field_validator("stel_limit")
    @classmethod
    def stel_above_twa(cls, v: float | None, info: ValidationInfo) -> float | None:
        twa = info.data.get("twa_limit")
        if v is not None and twa is not None and v < twa:
            raise ValueError(f"STEL must be at least the TWA limit ({twa:g})")
        return v


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
    latching: StrictBool = False  # true/false only: "yes" or 1 is a 422 naming the field

    @model_validator(mode="after")
    def quantity_fits(self) -> DeviceIn:
        if self.quantity not in QUANTITIES[self.kind]:
            raise ValueError(f"quantity must be one of {', '.join(QUANTITIES[self.kind])}")
        done, due = self.calibrated_on, self.calibration_due
        if done and due and due < done:
            raise ValueError("calibration_due must not be before calibrated_on")
        return self


class DevicePatch(Strict):
    """Fields left out are kept; calibration dates may be cleared with null."""

    limits: Limits | None = None
    zone_code: str | None = Field(None, max_length=40)
    calibrated_on: date | None = None
    calibration_due: date | None = None
    enabled: bool | None = None
    latching: StrictBool | None = None
    reason: str = Field(min_length=3, max_length=300)

    # Only an explicit null reaches this (defaults are not validated): a device always has
    # limits (an empty object switches every check off), a zone ("" for none) and a state.
    @field_validator("limits", "zone_code", "enabled", "latching")
    @classmethod
    def not_null(cls, v: object) -> object:
        if v is None:
            raise ValueError("may be left out but not null")
        return v


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
    latching: bool
    oos_since: datetime | None
    oos_by: str
    oos_reason: str
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


class GatewayInfo(BaseModel):
    """A gateway without its key; `mqtt`: its broker hash is stored (broker-config lists it)."""
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    name: str
    created_at: datetime
    created_by: str
    mqtt: bool


class AlarmOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    device_id: int | None
    site_id: int
    zone_code: str
    kind: str
    priority: int
    life_safety: bool
    latching: bool
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


class ReasonIn(Strict):
    """An operator action that needs a reason (reset, unshelve, suppress, out of service)."""

    reason: str = Field(min_length=3, max_length=300)

    @field_validator("reason")
    @classmethod
    def not_blank(cls, v: str) -> str:
        if len(v.strip()) < 3:
            raise ValueError("give a reason of at least 3 characters")
        return v.strip()


class ShelveIn(ReasonIn):
    """A reason as every reasoned action's (blanks are none), and the shelf time."""

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


def _minutes(v: time | None) -> int | None:
    return None if v is None else v.hour * 60 + v.minute


_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
# what the API takes, as its schema says: a time of the local day to the minute (OpenAPI's
# `format: time` is RFC 3339's, with seconds and an offset, which quiet hours do not keep)
QuietTime = Annotated[time, WithJsonSchema({"type": "string", "pattern": _HHMM,
                                            "examples": ["22:00"]})]


class QuietHours(Strict):
    """Quiet hours of a channel (local time, may wrap past midnight); both or neither."""

    quiet_start: QuietTime | None = None
    quiet_end: QuietTime | None = Field(None, validate_default=True)

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def to_the_minute(cls, v: time | None) -> time | None:
        """Kept in minutes of the local day: 12:30:10 and 12:30:50 were stored as one minute,
        a channel quiet all day; an offset would be dropped unsaid."""
        if v is not None and (v.second or v.microsecond):
            raise ValueError("give hours and minutes (HH:MM), no seconds")
        if v is not None and v.tzinfo is not None:
            raise ValueError("give the site's local time (HH:MM), no UTC offset")
        return v

    @field_validator("quiet_end")
    @classmethod
    def both_or_neither(cls, v: time | None, info: ValidationInfo) -> time | None:
        start = info.data.get("quiet_start")
        if (start is None) != (v is None) and "quiet_start" in info.data:
            raise ValueError("give both the start and the end of the quiet hours")
        if v is not None and v == start:
            raise ValueError("must differ from the start of the quiet hours")
        return v

    def minutes(self) -> tuple[int | None, int | None]:
        return _minutes(self.quiet_start), _minutes(self.quiet_end)


class ContactIn(QuietHours):
    site_id: int
    tier: int = Field(ge=1, le=4)
    role: Literal["dispatcher", "mine_rescue", "inspectorate", "management"]
    channel: Literal["inapp", "webhook", "email", "sms"]
    target: str = Field(min_length=3, max_length=300)
    secret: str = Field("", max_length=100)
    min_priority: int = Field(3, ge=1, le=3)
    name: str = Field("", max_length=120)
    user_id: int | None = None
    # the language its alarm texts are in; none given: the linked account's, else the product's
    lang: Lang | None = None


class ContactPatch(QuietHours):
    """What a person may change on their own channel: where it goes, when it is quiet and
    the language of its alarm texts (unchanged when not given)."""

    target: str = Field(min_length=3, max_length=300)
    lang: Lang | None = None


class ContactLangIn(Strict):
    """The language a contact's alarm texts are in, with the reason for the change."""

    lang: Lang
    reason: str = Field("", max_length=300)


LocalTime = Annotated[str, Field(pattern=_HHMM)]


class ContactOut(BaseModel):
    """A contact as the API shows it: the webhook signing key is never returned."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    tier: int
    role: str
    channel: str
    target: str
    min_priority: int
    name: str
    user_id: int | None
    lang: str
    # "HH:MM" local wall-clock time: a JSON Schema `time` would demand a UTC offset.
    quiet_start: LocalTime | None
    quiet_end: LocalTime | None
    has_secret: bool

    @model_validator(mode="before")
    @classmethod
    def from_row(cls, v: object) -> object:
        """Quiet hours are stored as minutes after local midnight; shown as times."""
        if isinstance(v, dict):
            return v
        out = {k: getattr(v, k) for k in cls.model_fields if hasattr(v, k)}
        out["quiet_start"], out["quiet_end"] = (
            _time(getattr(v, "quiet_start", None)), _time(getattr(v, "quiet_end", None)))
        out["has_secret"] = bool(getattr(v, "secret", ""))
        return out


def _time(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


class EscalationOut(BaseModel):
    """A site's escalation times (the product defaults with revision 0 when never set)."""

    model_config = ConfigDict(from_attributes=True)
    tier2_after_s: int
    tier3_after_s: int
    tier4_after_s: int
    reminder_s: int
    revision: int


class EscalationIn(Strict):
    """Seconds an alarm may stay unacknowledged before the next tier is told (counted from
    when the tier before was told), then how often the top tier is reminded."""

    tier2_after_s: int = Field(ge=10, le=3600)
    tier3_after_s: int = Field(ge=10, le=3 * 3600)
    tier4_after_s: int = Field(ge=10, le=12 * 3600)
    reminder_s: int = Field(ge=30, le=3600)
    reason: str = Field(min_length=3, max_length=300)


_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


MAX_CONSOLE_OPERATORS = 20


class ShiftsIn(Strict):
    """Local start times (HH:MM) of a site's work shifts, stored sorted; and how many
    operators are at its alarm console at a time (a whole number 1-20; left out = unchanged).
    Strict: 2.5, "3" or true are refused, not rounded or read."""

    shift_starts: list[str]
    console_operators: Annotated[int, Field(ge=1, le=MAX_CONSOLE_OPERATORS,
                                            strict=True)] | None = None
    reason: str = Field(min_length=3, max_length=300)

    @field_validator("shift_starts")
    @classmethod
    def times_of_day(cls, v: list[str]) -> list[str]:
        minutes = []
        for text in v:
            m = _HHMM.fullmatch(text.strip())
            if m is None:
                raise ValueError(f"not a time of day (HH:MM, 00:00-23:59): {text!r}")
            minutes.append(int(m[1]) * 60 + int(m[2]))
        if not minutes:
            raise ValueError("give at least one shift start time")
        if len(set(minutes)) < len(minutes):
            raise ValueError("a shift start time is given twice")
        if len(minutes) > MAX_SHIFTS:
            raise ValueError(f"at most {MAX_SHIFTS} shifts a day")
        minutes.sort()
        gaps = [(b - a) % 1440 for a, b in zip(minutes, minutes[1:] + minutes[:1], strict=True)]
        if len(minutes) > 1 and min(gaps) < MIN_SHIFT_MINUTES:
            raise ValueError(f"shifts must be at least {MIN_SHIFT_MINUTES // 60} h apart")
        return [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]


class ShiftsOut(BaseModel):
    """A site's shift starts (local time, UTC+5) and console operators on duty at a time;
    `revision` 0 = product defaults."""

    shift_starts: list[str]
    console_operators: int
    revision: int


class ConsoleIn(Strict):
    """An alarm console shared by sites (consoles.py): its name (unique in the enterprise),
    its sites now (all of one enterprise and region; none = out of use), operators on duty at
    a time (a whole number 1-20), the revision the editor saw (left out when creating) and
    why."""

    name: str = Field(min_length=1, max_length=80)
    site_ids: list[Annotated[int, Field(strict=True, ge=1, le=INT_MAX)]] = Field(max_length=500)
    operators: Annotated[int, Field(ge=1, le=MAX_CONSOLE_OPERATORS, strict=True)]
    revision: Annotated[int, Field(strict=True, ge=1, le=INT_MAX)] | None = None
    reason: str = Field(min_length=3, max_length=300)

    @field_validator("name")
    @classmethod
    def named(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("give the console a name")
        return v

    @field_validator("site_ids")
    @classmethod
    def once_each(cls, v: list[int]) -> list[int]:
        if len(set(v)) < len(v):
            raise ValueError("a site is given twice")
        return v


class ConsoleSite(BaseModel):
    id: int
    name: str


class ConsoleOut(BaseModel):
    id: int
    name: str
    enterprise_id: int
    region_code: str
    operators: int
    revision: int
    sites: list[ConsoleSite]


class WithdrawIn(Strict):
    """A withdraw order: its zones (none = every working zone), the alarm it answers if any,
    and why (recorded and audited; never required, so an evacuation is not held up)."""

    zones: list[str] = Field(default_factory=list, max_length=50)
    alarm_id: int | None = None
    reason: str = Field("", max_length=300)


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
