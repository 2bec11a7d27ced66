"""alarms: health of ingest processes (workers, danger sentinels)

Revision ID: alarms_0005
Revises: alarms_0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0005"
down_revision: str | Sequence[str] | None = "alarms_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarm_ingest_process",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("every_s", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue_depth", sa.BigInteger(), nullable=False),
        sa.Column("lag_s", sa.Float(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_ingest_process")),
        sa.UniqueConstraint("name", name=op.f("uq_alarm_ingest_process_name")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_alarm_ingest_process_seen_at"), "alarm_ingest_process",
                    ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_alarm_ingest_process_seen_at"), table_name="alarm_ingest_process")
    op.drop_table("alarm_ingest_process")
