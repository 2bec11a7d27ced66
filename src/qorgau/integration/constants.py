"""Integration permissions, the feed catalogue and tunables (env prefix QORGAU_INTEGRATION_)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from qorgau.core.labels import N_
from qorgau.core.roles import Role, grant

MANAGE_SUBSCRIPTIONS = grant(
    "integration.subscriptions",
    {Role.ADMIN, Role.SYSTEM, Role.MINISTRY_ANALYST, Role.LABOUR_INSPECTOR, Role.INSURER},
)
VIEW_MONITOR = grant("integration.monitor", {Role.ADMIN, Role.MINISTRY_ANALYST})
MANAGE_DELIVERIES = grant("integration.deliveries", {Role.ADMIN})
READ_REPORTS = grant(
    "integration.reports",
    {
        Role.ADMIN,
        Role.MINISTRY_ANALYST,
        Role.INDUSTRY_OFFICER,
        Role.LABOUR_INSPECTOR,
        Role.AKIMAT,
        Role.EMERGENCY_INSPECTOR,
        Role.EMPLOYER_OSH,
    },
)


@dataclass(frozen=True)
class Feed:
    name: str
    label: str  # msgid
    expected_hours: int  # silent longer than this → flagged
    target: str  # the domain whose service applies it


FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed("employment-contracts", N_("Unified employment-contract system"), 26, "registry"),
        Feed("business-register", N_("State business register"), 26, "registry"),
        # Names shared with concealment's evidence sources (a key's feed must equal the source).
        Feed("trauma_visit", N_("E-health trauma visits"), 6, "concealment"),
        Feed("sick_leave", N_("Sick-leave certificates"), 26, "concealment"),
        Feed("insurance-contracts", N_("Insurers' contracts"), 24 * 8, "insurance"),
        Feed("insurance_claim", N_("Insurers' claims"), 24 * 8, "concealment"),
        Feed(
            "hpf-register", N_("Register of hazardous production facilities"), 24 * 8, "inspections"
        ),
    )
}


class IntegrationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QORGAU_INTEGRATION_", extra="ignore")

    sync_max_rows: int = 2_000  # larger deliveries become import jobs (202)
    max_batch_rows: int = 200_000  # larger deliveries are refused (413)
    clock_skew_seconds: int = 900  # sent_at / row timestamps further off are refused
    inprocess_jobs: bool = True  # embedded default: a thread runs each job
    # A job still "running" this long after it started lost its process (kill -9, node loss);
    # its rows were never committed (a job applies whole or not at all), so it is run again.
    job_stale_after_seconds: int = 1_800
    # An Idempotency-Key reservation still "in progress" this long after it was taken belongs
    # to a request whose process died (no inline request runs this long: inline deliveries
    # are capped at sync_max_rows); a retry with the same key then takes it over.
    idempotency_stale_seconds: int = 120
    delivery_max_attempts: int = 8  # then the delivery goes to the dead-letter list
    backoff_base_seconds: float = 5.0
    backoff_cap_seconds: float = 3600.0
    delivery_timeout_seconds: float = 10.0
    delivery_batch: int = 500
    delivery_concurrency: int = 16
    claim_seconds: int = 120  # a claimed delivery is retried by anyone after this
    nats_publish: bool = False  # publish every outbox event to JetStream (settings.nats_url)
    nats_stream: str = "QORGAU_EVENTS"
    nats_subject_prefix: str = "qorgau.events"


@cache
def integration_settings() -> IntegrationSettings:
    return IntegrationSettings()
