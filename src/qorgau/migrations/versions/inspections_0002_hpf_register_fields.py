"""hazardous facility: the HPF register's coordinates and registration date

Revision ID: inspections_0002
Revises: inspections_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "inspections_0002"
down_revision: str | Sequence[str] | None = "inspections_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hazardous_facility") as batch:
        batch.add_column(sa.Column("lon", sa.Float(), nullable=True))
        batch.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("registered_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hazardous_facility") as batch:
        batch.drop_column("registered_on")
        batch.drop_column("lat")
        batch.drop_column("lon")
