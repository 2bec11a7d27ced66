"""alarms: a claimed notification names the process that claimed it (`core.liveness`), so a
claim whose process has died is taken again at once instead of after its lease

Revision ID: alarms_0019
Revises: alarms_0018
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0019"
down_revision: str | Sequence[str] | None = "alarms_0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_notification") as t:
        t.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarm_notification") as t:
        t.drop_column("claimed_by")
