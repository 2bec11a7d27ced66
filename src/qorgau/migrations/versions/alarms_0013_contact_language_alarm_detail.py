"""alarms: the language a contact reads (`lang`: kk | ru | en; existing contacts get ru, the
product's default) and an occurrence's structured text fields (`detail`: device code and
quantity, the value, a forecast's limit and time, a failed notification's target), from
which alarm texts are rendered in each reader's language; `message` stays the English record

Revision ID: alarms_0013
Revises: alarms_0012
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0013"
down_revision: str | Sequence[str] | None = "alarms_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_contact") as t:
        t.add_column(sa.Column("lang", sa.String(2), nullable=False, server_default="ru"))
    with op.batch_alter_table("alarm_occurrence") as t:
        t.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarm_occurrence") as t:
        t.drop_column("detail")
    with op.batch_alter_table("alarm_contact") as t:
        t.drop_column("lang")
