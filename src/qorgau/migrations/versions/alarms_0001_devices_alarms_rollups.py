"""alarms: devices, gateways, alarm occurrences and transitions, roll-ups, dead letters,
contacts, notifications, presence, withdrawals

Revision ID: alarms_0001
Revises: 0003_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("alarms",)
depends_on: str | Sequence[str] | None = None

TABLES = (
    "alarm_withdrawal",
    "alarm_presence",
    "alarm_notification",
    "alarm_contact",
    "alarm_dead_letter",
    "alarm_rollup",
    "alarm_event",
    "alarm_occurrence",
    "alarm_gateway",
    "alarm_device",
)


def upgrade() -> None:
    op.create_table(
        "alarm_dead_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=5), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("device_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_dead_letter")),
    )
    op.create_table(
        "alarm_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("min_priority", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_alarm_contact_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_contact")),
    )
    op.create_table(
        "alarm_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("quantity", sa.String(length=20), nullable=False),
        sa.Column("zone_code", sa.String(length=40), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("life_safety", sa.Boolean(), nullable=False),
        sa.Column("calibrated_on", sa.Date(), nullable=True),
        sa.Column("calibration_due", sa.Date(), nullable=True),
        sa.Column("installation_id", sa.Integer(), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("n_accepted", sa.Integer(), nullable=False),
        sa.Column("n_duplicate", sa.Integer(), nullable=False),
        sa.Column("n_rejected", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_alarm_device_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_device")),
        sa.UniqueConstraint("site_id", "code", name=op.f("uq_alarm_device_site_id_code")),
    )
    op.create_table(
        "alarm_gateway",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_alarm_gateway_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_gateway")),
        sa.UniqueConstraint("name", name=op.f("uq_alarm_gateway_name")),
    )
    op.create_table(
        "alarm_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("zone_code", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("life_safety", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(length=200), nullable=True),
        sa.Column("shelved_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["alarm_device.id"],
            name=op.f("fk_alarm_occurrence_device_id_alarm_device"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_alarm_occurrence_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_occurrence")),
    )
    op.create_table(
        "alarm_presence",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("zone_code", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["alarm_device.id"],
            name=op.f("fk_alarm_presence_device_id_alarm_device"),
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_alarm_presence")),
    )
    op.create_table(
        "alarm_rollup",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("vmin", sa.Float(), nullable=False),
        sa.Column("vmax", sa.Float(), nullable=False),
        sa.Column("vsum", sa.Float(), nullable=False),
        sa.Column("vlast", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["alarm_device.id"], name=op.f("fk_alarm_rollup_device_id_alarm_device")
        ),
        sa.PrimaryKeyConstraint("device_id", "minute", name=op.f("pk_alarm_rollup")),
    )
    op.create_table(
        "alarm_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("frm", sa.String(length=20), nullable=False),
        sa.Column("to", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarm_occurrence.id"],
            name=op.f("fk_alarm_event_alarm_id_alarm_occurrence"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_event")),
    )
    op.create_table(
        "alarm_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=120), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarm_occurrence.id"],
            name=op.f("fk_alarm_notification_alarm_id_alarm_occurrence"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_notification")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_alarm_notification_dedup_key")),
    )
    op.create_table(
        "alarm_withdrawal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("zones", sa.JSON(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("inside", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_id"],
            ["alarm_occurrence.id"],
            name=op.f("fk_alarm_withdrawal_alarm_id_alarm_occurrence"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_alarm_withdrawal_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_withdrawal")),
    )
    op.create_index(
        op.f("ix_alarm_dead_letter_device_id"), "alarm_dead_letter", ["device_id"], unique=False
    )
    op.create_index(
        op.f("ix_alarm_dead_letter_reason"), "alarm_dead_letter", ["reason"], unique=False
    )
    op.create_index(
        op.f("ix_alarm_dead_letter_site_id"), "alarm_dead_letter", ["site_id"], unique=False
    )
    op.create_index(op.f("ix_alarm_contact_site_id"), "alarm_contact", ["site_id"], unique=False)
    op.create_index(
        op.f("ix_alarm_device_enterprise_id"), "alarm_device", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_alarm_device_region_code"), "alarm_device", ["region_code"], unique=False
    )
    op.create_index(op.f("ix_alarm_device_site_id"), "alarm_device", ["site_id"], unique=False)
    op.create_index(op.f("ix_alarm_gateway_site_id"), "alarm_gateway", ["site_id"], unique=False)
    op.create_index(
        op.f("ix_alarm_occurrence_enterprise_id"),
        "alarm_occurrence",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_alarm_occurrence_next_escalation_at"),
        "alarm_occurrence",
        ["next_escalation_at"],
        unique=False,
    )
    op.create_index(
        "ix_alarm_occurrence_open", "alarm_occurrence", ["device_id", "kind", "open"], unique=False
    )
    op.create_index(
        op.f("ix_alarm_occurrence_region_code"), "alarm_occurrence", ["region_code"], unique=False
    )
    op.create_index(
        "ix_alarm_occurrence_site_state", "alarm_occurrence", ["site_id", "state"], unique=False
    )
    op.create_index(op.f("ix_alarm_presence_site_id"), "alarm_presence", ["site_id"], unique=False)
    op.create_index(op.f("ix_alarm_event_alarm_id"), "alarm_event", ["alarm_id"], unique=False)
    op.create_index(op.f("ix_alarm_event_at"), "alarm_event", ["at"], unique=False)
    op.create_index(
        op.f("ix_alarm_notification_alarm_id"), "alarm_notification", ["alarm_id"], unique=False
    )
    op.create_index(
        op.f("ix_alarm_withdrawal_site_id"), "alarm_withdrawal", ["site_id"], unique=False
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
