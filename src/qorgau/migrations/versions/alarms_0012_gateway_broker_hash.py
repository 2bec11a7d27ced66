"""alarms: a gateway's Mosquitto password hash (`$7$`, PBKDF2-SHA512) beside the SHA-256
digest of its key, made when the key is issued, so `qorgau alarms broker-config` writes the
broker's password file from the database (NULL for keys issued before: rotate them)

Revision ID: alarms_0012
Revises: alarms_0011
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0012"
down_revision: str | Sequence[str] | None = "alarms_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarm_gateway") as t:
        t.add_column(sa.Column("broker_hash", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alarm_gateway") as t:
        t.drop_column("broker_hash")
