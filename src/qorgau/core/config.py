"""Typed settings, read from the environment with the QORGAU_ prefix (and an optional .env)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Readings up to 7 days old are still accepted (alarms/constants.MAX_PAST_S) into their hour's
# segment file and minute's roll-up: a shorter retention would purge what is still written to.
MIN_TELEMETRY_RETENTION_DAYS = 8
_RETENTION = ("alarm_raw_retention_days", "alarm_rollup_retention_days",
              "alarm_dead_letter_retention_days")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QORGAU_", env_file=".env", extra="ignore")

    env: str = Field("development", description="development | production | test")
    var_dir: Path = Field(Path("var"), description="Where the embedded database and files live")
    database_url: str = Field("", description="SQLAlchemy URL; empty = SQLite file in var_dir")
    secret_key: SecretStr = Field(
        SecretStr("dev-only-secret-change-me"), description="Signs cookies and CSRF tokens"
    )
    iin_pepper: SecretStr = Field(
        SecretStr("dev-only-pepper-change-me"), description="HMAC key for IIN hashes"
    )
    cookie_secure: bool = True
    session_hours: int = 12
    token_hours: int = 8
    login_max_failures: int = 5
    login_window_minutes: int = 15
    login_lockout_minutes: int = 15
    max_json_bytes: int = 5 * 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    page_size_max: int = 200
    max_concurrent_requests: int = Field(
        32, ge=1, description="Requests served at once per process; more wait (core/middleware)"
    )
    queue_wait_seconds: float = Field(30.0, description="How long a waiting request may wait")
    tile_url: str = Field("", description="Optional XYZ tile URL; empty = boundaries only")
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    nats_url: str = "nats://127.0.0.1:4222"
    danger_bridge_url: str = Field(
        "", description="MQTT URL (credentials in it) of the danger signals from `qorgau "
        "alarms sentinel`, pushed to this process's consoles; empty = none (embedded default)"
    )
    queue: str = Field("inprocess", description="inprocess | mqtt | nats")
    alarm_flush_s: float = Field(
        5.0, ge=0, le=300, description="How often each device's 1-minute roll-up and counters "
        "(accepted, last reading) are written to the database; 0 = in every ingest batch. "
        "Readings are durable in the segment files before that (alarms/ingest/ledger.py)")
    alarm_ingest_max_batches: int = Field(
        16, ge=1, description="HTTP ingest batches in progress at once per process; one more is "
        "answered 503 + Retry-After and counted as shed (alarms/ingest/admission.py). Below "
        "max_concurrent_requests, so ingest is shed before it waits at the process's gate")
    alarm_ingest_max_readings: int = Field(
        100_000, ge=1, description="Readings of HTTP ingest batches in progress at once per "
        "process; a batch that would pass it is shed likewise (one batch alone always goes in)")
    alarm_raw_retention_days: int = Field(
        90, description="Days raw readings (segment hour files) are kept; 0 or empty = forever, "
        f"else at least {MIN_TELEMETRY_RETENTION_DAYS} (alarms/retention.py)")
    alarm_rollup_retention_days: int = Field(
        1095, description="Days 1-minute roll-ups are kept; 0 or empty = forever, else at least "
        f"{MIN_TELEMETRY_RETENTION_DAYS}")
    alarm_dead_letter_retention_days: int = Field(
        30, description="Days rejected ingest input (dead letters) is kept; 0 or empty = forever")
    default_language: str = "ru"

    @field_validator(*_RETENTION, mode="before")
    @classmethod
    def _empty_keeps_forever(cls, value: object) -> object:
        return 0 if value is None or (isinstance(value, str) and not value.strip()) else value

    @field_validator(*_RETENTION)
    @classmethod
    def _retention_days(cls, value: int, info: ValidationInfo) -> int:
        if value < 0:
            raise ValueError("must be 0 (keep forever) or a number of days, not negative")
        if 0 < value < MIN_TELEMETRY_RETENTION_DAYS and info.field_name != _RETENTION[2]:
            raise ValueError("must be 0 (keep forever) or at least "
                             f"{MIN_TELEMETRY_RETENTION_DAYS} days: readings up to 7 days old "
                             "are still written")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'qorgau.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


@cache
def get_settings() -> Settings:
    return Settings()
