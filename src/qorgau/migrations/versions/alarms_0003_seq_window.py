"""alarms: exact (device, sequence) dedup window — late readings are kept, not dropped

Revision ID: alarms_0003
Revises: alarms_0002
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0003"
down_revision: str | Sequence[str] | None = "alarms_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL window: every sequence below last_seq counts as stored (the old high-water mark)
    with op.batch_alter_table("alarm_device") as batch:
        batch.add_column(sa.Column("seq_window", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("seq_floor", sa.BigInteger(), nullable=False,
                                   server_default="-1"))


def downgrade() -> None:
    with op.batch_alter_table("alarm_device") as batch:
        batch.drop_column("seq_floor")
        batch.drop_column("seq_window")
