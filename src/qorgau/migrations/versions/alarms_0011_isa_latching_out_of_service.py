"""alarms: ISA-18.2 latching and out of service per device. `latching` makes the device's
danger alarms stay latched after their condition clears until an operator resets them (the
occurrence keeps the setting it was raised with); `oos_*` say who took the device's alarms
out of service, when and why (NULL since = in service)

Revision ID: alarms_0011
Revises: alarms_0010
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0011"
down_revision: str | Sequence[str] | None = "alarms_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_device") as t:
        t.add_column(sa.Column("latching", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
        t.add_column(sa.Column("oos_since", sa.DateTime(timezone=True), nullable=True))
        t.add_column(sa.Column("oos_by", sa.String(200), nullable=False, server_default=""))
        t.add_column(sa.Column("oos_reason", sa.String(300), nullable=False,
                               server_default=""))
    with op.batch_alter_table("alarm_occurrence") as t:
        t.add_column(sa.Column("latching", sa.Boolean(), nullable=False,
                               server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("alarm_occurrence") as t:
        t.drop_column("latching")
    with op.batch_alter_table("alarm_device") as t:
        for col in ("oos_reason", "oos_by", "oos_since", "latching"):
            t.drop_column(col)
