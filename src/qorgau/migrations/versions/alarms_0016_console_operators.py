"""alarms: the console operators on duty at a time at each site (1-20, default 1), edited
with the site's work shifts; the alarm KPIs divide a site's alarms by them

Revision ID: alarms_0016
Revises: alarms_0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0016"
down_revision: str | Sequence[str] | None = "alarms_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_alarm_escalation_console_operators_range"  # the full name (`op.f` in use)


def upgrade() -> None:
    with op.batch_alter_table("alarm_escalation") as t:
        t.add_column(sa.Column("console_operators", sa.Integer(), nullable=False,
                               server_default="1"))
        t.create_check_constraint(op.f(_CHECK), "console_operators BETWEEN 1 AND 20")


def downgrade() -> None:
    with op.batch_alter_table("alarm_escalation") as t:
        t.drop_constraint(op.f(_CHECK), type_="check")
        t.drop_column("console_operators")
