"""alarms: a site's work shifts (local HH:MM starts) beside its escalation times; the TWA
dose and STEL excursion counts of its sensors restart at each shift start (NULL = three
8-h shifts from 00:00)

Revision ID: alarms_0010
Revises: alarms_0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0010"
down_revision: str | Sequence[str] | None = "alarms_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_escalation") as t:
        t.add_column(sa.Column("shift_starts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarm_escalation") as t:
        t.drop_column("shift_starts")
