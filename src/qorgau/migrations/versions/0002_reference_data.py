"""reference data: regions, OKED activities, occupational risk classes

Revision ID: 0002_reference_data
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_reference_data"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from qorgau.registry.seed import load_reference

    load_reference(op.get_bind())


def downgrade() -> None:
    for table in ("activity", "risk_class", "region"):
        op.execute(f"DELETE FROM {table}")
