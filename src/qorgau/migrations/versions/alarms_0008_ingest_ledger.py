"""alarms: the ingest ledger — roll-ups and device counters written every few seconds per
device instead of every batch, and a per-site mark of what a restart must replay from the
segment files; the mark row also carries the site's device revision (read per batch by key
instead of counting the site's devices)

Revision ID: alarms_0008
Revises: alarms_0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0008"
down_revision: str | Sequence[str] | None = "alarms_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarm_ingest_mark",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("committed_frame", sa.BigInteger(), nullable=False),
        sa.Column("replay_from", sa.BigInteger(), nullable=True),
        sa.Column("tail", sa.JSON(), nullable=False),
        sa.Column("devices_rev", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("owner", sa.String(length=160), nullable=True),
        sa.Column("owner_until", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("site_id"),
    )
    if op.get_bind().dialect.name == "postgresql":  # one row rewritten per site per batch
        op.execute("ALTER TABLE alarm_ingest_mark SET (fillfactor = 50)")


def downgrade() -> None:
    op.drop_table("alarm_ingest_mark")
