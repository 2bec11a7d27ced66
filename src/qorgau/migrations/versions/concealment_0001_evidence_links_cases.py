"""concealment: evidence records, analysis runs, links, enterprise signals, region estimates, cases

Revision ID: concealment_0001
Revises: 0003_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "concealment_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("concealment",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concealment_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accident_id", sa.Integer(), nullable=True),
        sa.Column("registration", sa.String(length=20), nullable=False),
        sa.Column("violation_ref", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_case")),
        sa.UniqueConstraint("key", name=op.f("uq_concealment_case_key")),
    )
    op.create_index(
        op.f("ix_concealment_case_enterprise_id"),
        "concealment_case",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        "ix_concealment_case_queue",
        "concealment_case",
        ["region_code", "state", "score"],
        unique=False,
    )
    op.create_table(
        "concealment_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("iin_hash", sa.String(length=64), nullable=True),
        sa.Column("iin_valid", sa.Boolean(), nullable=False),
        sa.Column("last_name", sa.String(length=120), nullable=False),
        sa.Column("first_name", sa.String(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("employer_bin", sa.String(length=12), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=5), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("icd10", sa.String(length=8), nullable=True),
        sa.Column("cause_code", sa.String(length=4), nullable=True),
        sa.Column("work_related", sa.Boolean(), nullable=True),
        sa.Column("fatal", sa.Boolean(), nullable=False),
        sa.Column("facility", sa.String(length=200), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_evidence")),
        sa.UniqueConstraint(
            "source", "source_ref", name=op.f("uq_concealment_evidence_source_source_ref")
        ),
    )
    op.create_index(
        "ix_concealment_evidence_birth", "concealment_evidence", ["birth_date"], unique=False
    )
    op.create_index(
        op.f("ix_concealment_evidence_enterprise_id"),
        "concealment_evidence",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_concealment_evidence_iin_hash"), "concealment_evidence", ["iin_hash"], unique=False
    )
    op.create_index(
        op.f("ix_concealment_evidence_organisation_id"),
        "concealment_evidence",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        "ix_concealment_evidence_region_date",
        "concealment_evidence",
        ["region_code", "event_date"],
        unique=False,
    )
    op.create_index(
        op.f("ix_concealment_evidence_source"), "concealment_evidence", ["source"], unique=False
    )
    op.create_table(
        "concealment_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_run")),
    )
    op.create_table(
        "concealment_case_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=False),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["concealment_case.id"],
            name=op.f("fk_concealment_case_event_case_id_concealment_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_case_event")),
    )
    op.create_index(
        op.f("ix_concealment_case_event_case_id"),
        "concealment_case_event",
        ["case_id"],
        unique=False,
    )
    op.create_table(
        "concealment_enterprise_signal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("p_low", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("unreported_episodes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["concealment_run.id"],
            name=op.f("fk_concealment_enterprise_signal_run_id_concealment_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_enterprise_signal")),
        sa.UniqueConstraint(
            "run_id",
            "enterprise_id",
            name=op.f("uq_concealment_enterprise_signal_run_id_enterprise_id"),
        ),
    )
    op.create_index(
        op.f("ix_concealment_enterprise_signal_enterprise_id"),
        "concealment_enterprise_signal",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_concealment_enterprise_signal_region_code"),
        "concealment_enterprise_signal",
        ["region_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_concealment_enterprise_signal_run_id"),
        "concealment_enterprise_signal",
        ["run_id"],
        unique=False,
    )
    op.create_table(
        "concealment_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=10), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=14), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["concealment_evidence.id"],
            name=op.f("fk_concealment_link_evidence_id_concealment_evidence"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["concealment_run.id"],
            name=op.f("fk_concealment_link_run_id_concealment_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_link")),
    )
    op.create_index(
        op.f("ix_concealment_link_evidence_id"), "concealment_link", ["evidence_id"], unique=False
    )
    op.create_index(
        op.f("ix_concealment_link_run_id"), "concealment_link", ["run_id"], unique=False
    )
    op.create_index(
        "ix_concealment_link_target", "concealment_link", ["target_type", "target_id"], unique=False
    )
    op.create_table(
        "concealment_region_estimate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=False),
        sa.Column("method", sa.String(length=12), nullable=False),
        sa.Column("registered", sa.Integer(), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("n_hat", sa.Float(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=False),
        sa.Column("ci_high", sa.Float(), nullable=False),
        sa.Column("under_reporting", sa.Float(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["concealment_run.id"],
            name=op.f("fk_concealment_region_estimate_run_id_concealment_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_region_estimate")),
    )
    op.create_index(
        op.f("ix_concealment_region_estimate_region_code"),
        "concealment_region_estimate",
        ["region_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_concealment_region_estimate_run_id"),
        "concealment_region_estimate",
        ["run_id"],
        unique=False,
    )


def downgrade() -> None:
    for table in (
        "concealment_case_event",
        "concealment_link",
        "concealment_region_estimate",
        "concealment_enterprise_signal",
        "concealment_case",
        "concealment_run",
        "concealment_evidence",
    ):
        op.drop_table(table)
