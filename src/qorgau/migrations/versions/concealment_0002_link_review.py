"""concealment: review queue of ambiguous worker links and the inspectors' resolutions

Revision ID: concealment_0002
Revises: concealment_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "concealment_0002"
down_revision: str | Sequence[str] | None = "concealment_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "concealment_link_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=True),
        sa.Column("best_probability", sa.Float(), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["concealment_evidence.id"],
            name=op.f("fk_concealment_link_review_evidence_id_concealment_evidence"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["concealment_run.id"],
            name=op.f("fk_concealment_link_review_run_id_concealment_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_link_review")),
        sa.UniqueConstraint(
            "run_id", "evidence_id", name=op.f("uq_concealment_link_review_run_id_evidence_id")
        ),
    )
    op.create_index(
        op.f("ix_concealment_link_review_evidence_id"),
        "concealment_link_review",
        ["evidence_id"],
        unique=False,
    )
    op.create_index(
        "ix_concealment_link_review_queue",
        "concealment_link_review",
        ["run_id", "region_code", "source"],
        unique=False,
    )
    op.create_table(
        "concealment_link_resolution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evidence_id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["evidence_id"],
            ["concealment_evidence.id"],
            name=op.f("fk_concealment_link_resolution_evidence_id_concealment_evidence"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["concealment_link_review.id"],
            name="fk_concealment_link_resolution_review",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_concealment_link_resolution")),
        sa.UniqueConstraint(
            "evidence_id",
            "revision",
            name=op.f("uq_concealment_link_resolution_evidence_id_revision"),
        ),
    )
    op.create_index(
        op.f("ix_concealment_link_resolution_evidence_id"),
        "concealment_link_resolution",
        ["evidence_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_concealment_link_resolution_review_id"),
        "concealment_link_resolution",
        ["review_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("concealment_link_resolution")
    op.drop_table("concealment_link_review")
