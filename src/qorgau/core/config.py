"""Typed settings, read from the environment with the QORGAU_ prefix (and an optional .env)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent.parent


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
    default_language: str = "ru"

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
