"""incidents: accidents, victims, attachments, notifications, deadlines, investigations,
corrective actions, revisions, signed acts, anonymous hazard reports

Revision ID: incidents_0001
Revises: 0003_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "incidents_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("incidents",)
depends_on: str | Sequence[str] | None = None

TABLES = (
    "hazard_report",
    "accident",
    "accident_act",
    "accident_action",
    "accident_attachment",
    "accident_deadline",
    "accident_investigation",
    "accident_notification",
    "accident_revision",
    "accident_victim",
)


def upgrade() -> None:
    op.create_table(
        "hazard_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=14), nullable=False),
        sa.Column("status_note", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_report")),
        sa.UniqueConstraint("code", name=op.f("uq_hazard_report_code")),
    )
    op.create_index(
        op.f("ix_hazard_report_enterprise_id"), "hazard_report", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_hazard_report_region_code"), "hazard_report", ["region_code"], unique=False
    )
    op.create_table(
        "accident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("circumstances", sa.Text(), nullable=False),
        sa.Column("esaw_deviation", sa.String(length=4), nullable=True),
        sa.Column("esaw_contact", sa.String(length=4), nullable=True),
        sa.Column("esaw_injury_type", sa.String(length=4), nullable=True),
        sa.Column("esaw_body_part", sa.String(length=4), nullable=True),
        sa.Column("cause_code", sa.String(length=10), nullable=True),
        sa.Column("victims_count", sa.Integer(), nullable=False),
        sa.Column("fatalities", sa.Integer(), nullable=False),
        sa.Column("late_report", sa.Boolean(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["enterprise.id"], name=op.f("fk_accident_enterprise_id_enterprise")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_accident_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident")),
        sa.UniqueConstraint(
            "enterprise_id",
            "idempotency_key",
            name=op.f("uq_accident_enterprise_id_idempotency_key"),
        ),
    )
    op.create_index(op.f("ix_accident_cause_code"), "accident", ["cause_code"], unique=False)
    op.create_index(op.f("ix_accident_enterprise_id"), "accident", ["enterprise_id"], unique=False)
    op.create_index(
        "ix_accident_region_occurred", "accident", ["region_code", "occurred_at"], unique=False
    )
    op.create_table(
        "accident_act",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=2), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("signer", sa.String(length=300), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["accident_id"], ["accident.id"], name=op.f("fk_accident_act_accident_id_accident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_act")),
        sa.UniqueConstraint(
            "accident_id",
            "revision",
            "lang",
            name=op.f("uq_accident_act_accident_id_revision_lang"),
        ),
    )
    op.create_index(
        op.f("ix_accident_act_accident_id"), "accident_act", ["accident_id"], unique=False
    )
    op.create_table(
        "accident_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accident_id"], ["accident.id"], name=op.f("fk_accident_action_accident_id_accident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_action")),
    )
    op.create_index(
        op.f("ix_accident_action_accident_id"), "accident_action", ["accident_id"], unique=False
    )
    op.create_table(
        "accident_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=True),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mime", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accident_id"],
            ["accident.id"],
            name=op.f("fk_accident_attachment_accident_id_accident"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_report.id"],
            name=op.f("fk_accident_attachment_hazard_id_hazard_report"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_attachment")),
    )
    op.create_index(
        op.f("ix_accident_attachment_accident_id"),
        "accident_attachment",
        ["accident_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_accident_attachment_hazard_id"), "accident_attachment", ["hazard_id"], unique=False
    )
    op.create_index(
        op.f("ix_accident_attachment_sha256"), "accident_attachment", ["sha256"], unique=False
    )
    op.create_table(
        "accident_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extended_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["accident_id"], ["accident.id"], name=op.f("fk_accident_deadline_accident_id_accident")
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["app_user.id"],
            name=op.f("fk_accident_deadline_inspector_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_deadline")),
        sa.UniqueConstraint(
            "accident_id", "kind", name=op.f("uq_accident_deadline_accident_id_kind")
        ),
    )
    op.create_index(
        op.f("ix_accident_deadline_accident_id"), "accident_deadline", ["accident_id"], unique=False
    )
    op.create_index(
        op.f("ix_accident_deadline_enterprise_id"),
        "accident_deadline",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_accident_deadline_inspector_id"),
        "accident_deadline",
        ["inspector_id"],
        unique=False,
    )
    op.create_index(
        "ix_accident_deadline_open", "accident_deadline", ["met_at", "due_at"], unique=False
    )
    op.create_index(
        op.f("ix_accident_deadline_region_code"), "accident_deadline", ["region_code"], unique=False
    )
    op.create_table(
        "accident_investigation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("commission", sa.JSON(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("causes", sa.JSON(), nullable=False),
        sa.Column("fault_employer_pct", sa.Integer(), nullable=True),
        sa.Column("fault_worker_pct", sa.Integer(), nullable=True),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.String(length=500), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accident_id"],
            ["accident.id"],
            name=op.f("fk_accident_investigation_accident_id_accident"),
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["app_user.id"],
            name=op.f("fk_accident_investigation_inspector_id_app_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_investigation")),
        sa.UniqueConstraint("accident_id", name=op.f("uq_accident_investigation_accident_id")),
    )
    op.create_index(
        op.f("ix_accident_investigation_inspector_id"),
        "accident_investigation",
        ["inspector_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_accident_investigation_region_code"),
        "accident_investigation",
        ["region_code"],
        unique=False,
    )
    op.create_table(
        "accident_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("recipient", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["accident_id"],
            ["accident.id"],
            name=op.f("fk_accident_notification_accident_id_accident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_notification")),
    )
    op.create_index(
        op.f("ix_accident_notification_accident_id"),
        "accident_notification",
        ["accident_id"],
        unique=False,
    )
    op.create_table(
        "accident_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accident_id"], ["accident.id"], name=op.f("fk_accident_revision_accident_id_accident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_revision")),
        sa.UniqueConstraint(
            "object_type",
            "object_id",
            "number",
            name=op.f("uq_accident_revision_object_type_object_id_number"),
        ),
    )
    op.create_index(
        op.f("ix_accident_revision_accident_id"), "accident_revision", ["accident_id"], unique=False
    )
    op.create_table(
        "accident_victim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("cause_code", sa.String(length=10), nullable=True),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("iin_hash", sa.String(length=64), nullable=True),
        sa.Column("iin_masked", sa.String(length=16), nullable=True),
        sa.Column("full_name", sa.String(length=300), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("employed_here", sa.Boolean(), nullable=False),
        sa.Column("icd10", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["accident_id"], ["accident.id"], name=op.f("fk_accident_victim_accident_id_accident")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_accident_victim_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accident_victim")),
    )
    op.create_index(
        op.f("ix_accident_victim_accident_id"), "accident_victim", ["accident_id"], unique=False
    )
    op.create_index(
        "ix_accident_victim_day", "accident_victim", ["occurred_on", "severity"], unique=False
    )
    op.create_index(
        op.f("ix_accident_victim_enterprise_id"), "accident_victim", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_accident_victim_iin_hash"), "accident_victim", ["iin_hash"], unique=False
    )
    op.create_index(
        "ix_accident_victim_region_day",
        "accident_victim",
        ["region_code", "occurred_on", "severity"],
        unique=False,
    )
    op.create_index(
        "ix_accident_victim_section_day",
        "accident_victim",
        ["section", "occurred_on", "severity"],
        unique=False,
    )
    op.create_index(
        op.f("ix_accident_victim_worker_id"), "accident_victim", ["worker_id"], unique=False
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
