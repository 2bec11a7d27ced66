"""insurance: claims reference the accident register (nullable FK) now that it exists

Revision ID: insurance_0002
Revises: insurance_0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "insurance_0002"
down_revision: str | Sequence[str] | None = "insurance_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = ("incidents_0001",)


def upgrade() -> None:
    with op.batch_alter_table("insurance_claim") as batch:
        batch.add_column(sa.Column("accident_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_insurance_claim_accident_id_accident"), "accident", ["accident_id"], ["id"]
        )
        batch.create_index(op.f("ix_insurance_claim_accident_id"), ["accident_id"])


def downgrade() -> None:
    with op.batch_alter_table("insurance_claim") as batch:
        batch.drop_index(op.f("ix_insurance_claim_accident_id"))
        batch.drop_constraint(op.f("fk_insurance_claim_accident_id_accident"), type_="foreignkey")
        batch.drop_column("accident_id")
