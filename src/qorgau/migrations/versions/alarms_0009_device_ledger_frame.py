"""alarms: each device row carries the last segment frame its counters and roll-ups include
(`ledger_frame`, written by the site's ledger owner): a replay skips what a device's row
already holds by frame number instead of by its dedup window, which a second process
ingesting the site may have written from its own, older view

Revision ID: alarms_0009
Revises: alarms_0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0009"
down_revision: str | Sequence[str] | None = "alarms_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_device") as batch:
        batch.add_column(sa.Column("ledger_frame", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarm_device") as batch:
        batch.drop_column("ledger_frame")
