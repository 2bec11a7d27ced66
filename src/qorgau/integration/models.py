"""Integration tables: idempotency records, import jobs, feed receipts/status, webhook
subscriptions and deliveries, report schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qorgau.core.db import Base, CreatedMixin
from qorgau.core.security import ScopeSpec


class IdempotencyRecord(Base):
    """One Idempotency-Key per caller: the request's hash and the response it got."""

    __tablename__ = "idempotency_record"
    __scope__ = ScopeSpec(organisation="organisation_id")
    __table_args__ = (UniqueConstraint("owner", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # actor label: user or API key
    organisation_id: Mapped[int | None]
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))  # in_progress | done
    status_code: Mapped[int | None]
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)


class ImportJob(CreatedMixin, Base):
    """A large delivery processed in the background; applied whole or not at all."""

    __tablename__ = "import_job"
    __scope__ = ScopeSpec(organisation="organisation_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(String(60), index=True)
    organisation_id: Mapped[int | None] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_key_id: Mapped[int | None]
    delivery_id: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(12), index=True)  # queued|running|done|failed
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    rows: Mapped[Any] = mapped_column(JSON, nullable=True)  # dropped once finished
    results: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class FeedReceipt(Base):
    """One delivery of a feed (accepted or rejected): the exchange monitor's raw material."""

    __tablename__ = "feed_receipt"
    __scope__ = ScopeSpec(organisation="organisation_id")
    __table_args__ = (Index("ix_feed_receipt_feed_at", "feed", "received_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed: Mapped[str] = mapped_column(String(60))
    organisation_id: Mapped[int | None]
    delivery_id: Mapped[str] = mapped_column(String(120), default="")
    received_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12))  # accepted | rejected | failed
    error: Mapped[str] = mapped_column(Text, default="")


class FeedStatus(Base):
    """Per feed: last accepted delivery, last error and whether a silence alert is open."""

    __tablename__ = "feed_status"
    __scope__ = ScopeSpec()  # national only (monitor roles)
    feed: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_accepted_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None]
    silent_since: Mapped[datetime | None]


class Subscription(CreatedMixin, Base):
    """An organisation's webhook: events matching `event_types` (comma-separated globs)."""

    __tablename__ = "webhook_subscription"
    __scope__ = ScopeSpec(organisation="organisation_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[str] = mapped_column(String(400))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Delivery(Base):
    """One event to one subscription; retried with backoff, dead-lettered after N attempts."""

    __tablename__ = "webhook_delivery"
    __scope__ = ScopeSpec(organisation="organisation_id")
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_order", "subscription_id", "object_key", "event_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_event.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscription.id"))
    organisation_id: Mapped[int] = mapped_column(index=True)
    object_key: Mapped[str] = mapped_column(String(170))
    attempt: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | dead
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    response_code: Mapped[int | None]
    delivered_at: Mapped[datetime | None]


class ReportSchedule(CreatedMixin, Base):
    """A report produced on a schedule (daily/weekly/monthly) for an organisation."""

    __tablename__ = "report_schedule"
    __scope__ = ScopeSpec(organisation="organisation_id")
    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    report: Mapped[str] = mapped_column(String(40))
    fmt: Mapped[str] = mapped_column(String(5))  # xlsx | pdf | csv
    language: Mapped[str] = mapped_column(String(2))
    every: Mapped[str] = mapped_column(String(10))  # daily | weekly | monthly
    next_run_at: Mapped[datetime]
    last_run_at: Mapped[datetime | None]
    last_file: Mapped[str] = mapped_column(String(400), default="")
