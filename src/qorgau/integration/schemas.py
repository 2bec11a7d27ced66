"""API shapes for the integration API (feeds, jobs, subscriptions, deliveries, monitor)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from qorgau.registry.schemas import EnterpriseIn, WorkerIn

EMPLOYMENT_EXAMPLE = {
    "delivery_id": "eccs-2026-11-25",
    "sent_at": "2026-11-26T02:00:00Z",
    "rows": [
        {
            "op": "hire",
            "contract_no": "ECC-0001",
            "enterprise_bin": "100140000005",
            "worker": {"iin": "850412300017", "last_name": "Qasymov", "first_name": "Erlan"},
            "occupation": "miner",
            "start_date": "2026-11-25",
            "monthly_wage": 450000,
            "changed_at": "2026-11-25T09:00:00Z",
        },
        {
            "op": "terminate",
            "contract_no": "ECC-0000",
            "enterprise_bin": "100140000005",
            "end_date": "2026-11-24",
            "changed_at": "2026-11-25T10:00:00Z",
        },
    ],
}


class FeedDeliveryIn(BaseModel):
    """One delivery of a feed: rows are validated one by one so errors name the row."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EMPLOYMENT_EXAMPLE]})
    delivery_id: str = Field(
        min_length=1,
        max_length=120,
        description="The sender's id for this delivery (for the monitor)",
    )
    sent_at: datetime = Field(description="When the sender produced it; must be near our clock")
    rows: list[dict[str, Any]] = Field(min_length=1)
    mode: Literal["auto", "sync", "job"] = Field(
        "auto", description="auto: small deliveries inline, large ones as an import job"
    )


class EmploymentDeltaRow(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    op: Literal["hire", "change", "terminate"]
    contract_no: str = Field(min_length=1, max_length=40)
    enterprise_bin: str = Field(pattern=r"^\d{12}$")
    worker: WorkerIn | None = None
    occupation: str = Field("", max_length=200)
    start_date: date | None = None
    end_date: date | None = None
    monthly_wage: int = Field(0, ge=0, le=100_000_000)
    changed_at: datetime

    @model_validator(mode="after")
    def _by_op(self) -> EmploymentDeltaRow:
        if self.op == "hire":
            for name in ("worker", "start_date"):
                if getattr(self, name) is None:
                    raise ValueError(f"{name} is required for a hire")
            if not self.occupation:
                raise ValueError("occupation is required for a hire")
        if self.op == "terminate" and self.end_date is None:
            raise ValueError("end_date is required for a termination")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class BusinessRegisterRow(EnterpriseIn):
    changed_at: datetime


class RowError(BaseModel):
    row: int
    field: str
    reason: str


class BulkResultOut(BaseModel):
    feed: str
    delivery_id: str
    status: Literal["applied", "rejected"]
    rows: int
    counts: dict[str, int] = Field(default_factory=dict)
    results: list[str] = Field(default_factory=list, description="Outcome per row, in order")
    errors: list[RowError] = Field(default_factory=list)


class ImportJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    feed: str
    delivery_id: str
    status: str
    total_rows: int
    processed_rows: int
    progress: float = 0.0
    results: dict[str, Any] | None = None
    error: str
    created_at: datetime
    finished_at: datetime | None

    @model_validator(mode="after")
    def _progress(self) -> ImportJobOut:
        self.progress = round(self.processed_rows / self.total_rows, 4) if self.total_rows else 0
        return self


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=2, max_length=200)
    event_types: str = Field(
        min_length=1,
        max_length=400,
        pattern=r"^[a-z0-9_.*]+(,[a-z0-9_.*]+)*$",
        description="Comma-separated globs, e.g. `accident.*,insurance.gap.opened`",
        examples=["accident.*,employment.delta"],
    )
    url: AnyHttpUrl
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="Signing secret; generated when omitted"
    )


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    organisation_id: int
    name: str
    event_types: str
    url: str
    active: bool


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Shown once: verify X-Qorgau-Signature with it")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    event_id: int
    subscription_id: int
    object_key: str
    attempt: int
    status: str
    next_attempt_at: datetime
    last_error: str
    response_code: int | None
    delivered_at: datetime | None


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delivery_ids: list[int] = Field(default_factory=list, max_length=10_000)
    all_dead: bool = Field(False, description="Replay every dead delivery in your scope")


class ReplayOut(BaseModel):
    replayed: int


class FeedHealthOut(BaseModel):
    feed: str
    label: str
    last_accepted_at: datetime | None
    rows_24h: int
    rows_7d: int
    rejected_7d: int
    last_error: str
    last_error_at: datetime | None
    expected_hours: int
    silent: bool
