"""risk: hazard register, assessment revisions, controls, actions, evidence, Vision Zero,
instructions, per-enterprise settings

Revision ID: risk_0001
Revises: 0003_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "risk_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("risk",)
depends_on: str | Sequence[str] | None = None

TABLES = (
    "risk_settings",
    "risk_hazard",
    "risk_assessment",
    "risk_control",
    "risk_action",
    "risk_evidence",
    "risk_vision_zero",
    "risk_instruction",
)


def upgrade() -> None:
    op.create_table(
        "risk_settings",
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("review_months", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_risk_settings_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_risk_settings")),
    )
    op.create_index(
        op.f("ix_risk_settings_region_code"), "risk_settings", ["region_code"], unique=False
    )
    op.create_table(
        "risk_hazard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("workplace", sa.String(length=300), nullable=False),
        sa.Column("occupation", sa.String(length=200), nullable=False),
        sa.Column("hazard_type", sa.String(length=30), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("exposed_groups", sa.String(length=300), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("template_ref", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_risk_hazard_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_risk_hazard_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_hazard")),
    )
    op.create_index(
        op.f("ix_risk_hazard_enterprise_id"), "risk_hazard", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_risk_hazard_region_code"), "risk_hazard", ["region_code"], unique=False
    )
    op.create_index(op.f("ix_risk_hazard_site_id"), "risk_hazard", ["site_id"], unique=False)
    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("initial", sa.JSON(), nullable=False),
        sa.Column("residual", sa.JSON(), nullable=True),
        sa.Column("initial_score", sa.Float(), nullable=False),
        sa.Column("initial_band", sa.String(length=12), nullable=False),
        sa.Column("residual_score", sa.Float(), nullable=True),
        sa.Column("residual_band", sa.String(length=12), nullable=True),
        sa.Column("current_band", sa.String(length=12), nullable=False),
        sa.Column("method_band", sa.String(length=12), nullable=False),
        sa.Column("acceptable", sa.Boolean(), nullable=False),
        sa.Column("residual_reason", sa.Text(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("review_due", sa.Date(), nullable=True),
        sa.Column("signed_by", sa.String(length=200), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trigger", sa.String(length=20), nullable=True),
        sa.Column("trigger_note", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_risk_assessment_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["risk_hazard.id"], name=op.f("fk_risk_assessment_hazard_id_risk_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
        sa.UniqueConstraint(
            "hazard_id", "revision", name=op.f("uq_risk_assessment_hazard_id_revision")
        ),
    )
    op.create_index(
        "ix_risk_assessment_enterprise_band",
        "risk_assessment",
        ["enterprise_id", "current_band"],
        unique=False,
    )
    op.create_index(
        op.f("ix_risk_assessment_enterprise_id"), "risk_assessment", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_risk_assessment_hazard_id"), "risk_assessment", ["hazard_id"], unique=False
    )
    op.create_index(
        op.f("ix_risk_assessment_region_code"), "risk_assessment", ["region_code"], unique=False
    )
    op.create_table(
        "risk_control",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("requires_instruction", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["risk_assessment.id"],
            name=op.f("fk_risk_control_assessment_id_risk_assessment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_control")),
    )
    op.create_index(
        op.f("ix_risk_control_assessment_id"), "risk_control", ["assessment_id"], unique=False
    )
    op.create_index(
        op.f("ix_risk_control_enterprise_id"), "risk_control", ["enterprise_id"], unique=False
    )
    op.create_table(
        "risk_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("accident_ref", sa.String(length=60), nullable=False),
        sa.Column("root_cause", sa.String(length=1000), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_risk_action_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["risk_hazard.id"], name=op.f("fk_risk_action_hazard_id_risk_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_action")),
    )
    op.create_index(
        op.f("ix_risk_action_accident_ref"), "risk_action", ["accident_ref"], unique=False
    )
    op.create_index(
        op.f("ix_risk_action_enterprise_id"), "risk_action", ["enterprise_id"], unique=False
    )
    op.create_index(op.f("ix_risk_action_hazard_id"), "risk_action", ["hazard_id"], unique=False)
    op.create_index(
        op.f("ix_risk_action_region_code"), "risk_action", ["region_code"], unique=False
    )
    op.create_index(
        "ix_risk_action_status_due", "risk_action", ["status", "due_date"], unique=False
    )
    op.create_table(
        "risk_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["risk_action.id"], name=op.f("fk_risk_evidence_action_id_risk_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_evidence")),
    )
    op.create_index(
        op.f("ix_risk_evidence_action_id"), "risk_evidence", ["action_id"], unique=False
    )
    op.create_index(
        op.f("ix_risk_evidence_enterprise_id"), "risk_evidence", ["enterprise_id"], unique=False
    )
    op.create_table(
        "risk_vision_zero",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("total_pct", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_risk_vision_zero_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_vision_zero")),
    )
    op.create_index(
        op.f("ix_risk_vision_zero_enterprise_id"),
        "risk_vision_zero",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_risk_vision_zero_region_code"), "risk_vision_zero", ["region_code"], unique=False
    )
    op.create_table(
        "risk_instruction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("confirmed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("on_behalf", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_risk_instruction_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["risk_hazard.id"],
            name=op.f("fk_risk_instruction_hazard_id_risk_hazard"),
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_risk_instruction_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_instruction")),
    )
    op.create_index(
        op.f("ix_risk_instruction_enterprise_id"),
        "risk_instruction",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_risk_instruction_region_code"), "risk_instruction", ["region_code"], unique=False
    )
    op.create_index(
        "ix_risk_instruction_worker_hazard",
        "risk_instruction",
        ["worker_id", "hazard_id"],
        unique=False,
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
