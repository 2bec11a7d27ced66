"""alarms: a notification row's machine part (`detail`, JSON): a flood summary's type, phase,
span and counts by priority and device, sent as its webhook body whatever the contact's
language; None for an alarm's rows

Revision ID: alarms_0014
Revises: alarms_0013
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0014"
down_revision: str | Sequence[str] | None = "alarms_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_notification") as t:
        t.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarm_notification") as t:
        t.drop_column("detail")
