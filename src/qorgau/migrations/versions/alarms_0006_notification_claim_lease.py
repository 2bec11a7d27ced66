"""alarms: a claimed notification carries its claim time (a lease), so a row whose sender
died after the claim is sent again instead of staying "sending" for ever

Revision ID: alarms_0006
Revises: alarms_0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0006"
down_revision: str | Sequence[str] | None = "alarms_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_notification") as t:
        t.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_alarm_notification_status_claimed", "alarm_notification",
                    ["status", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_alarm_notification_status_claimed", table_name="alarm_notification")
    with op.batch_alter_table("alarm_notification") as t:
        t.drop_column("claimed_at")
