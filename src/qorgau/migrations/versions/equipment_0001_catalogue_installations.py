"""equipment: requirement catalogue (seeded) and installations

Revision ID: equipment_0001
Revises: 0003_outbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "equipment_0001"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = ("equipment",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "equipment_requirement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("site_kind", sa.String(length=20), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=True),
        sa.Column("division", sa.String(length=2), nullable=True),
        sa.Column("name_kk", sa.String(length=300), nullable=False),
        sa.Column("name_ru", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_requirement")),
        sa.UniqueConstraint("code", name=op.f("uq_equipment_requirement_code")),
    )
    op.create_index(
        op.f("ix_equipment_requirement_site_kind"),
        "equipment_requirement",
        ["site_kind"],
        unique=False,
    )
    op.create_table(
        "equipment_installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("requirement_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=False),
        sa.Column("serial_no", sa.String(length=60), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("commissioned_on", sa.Date(), nullable=False),
        sa.Column("act_file", sa.JSON(), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_equipment_installation_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["requirement_id"],
            ["equipment_requirement.id"],
            name=op.f("fk_equipment_installation_requirement_id_equipment_requirement"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_equipment_installation_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equipment_installation")),
        sa.UniqueConstraint("serial_no", name=op.f("uq_equipment_installation_serial_no")),
    )
    op.create_index(
        op.f("ix_equipment_installation_enterprise_id"),
        "equipment_installation",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_equipment_installation_last_heartbeat_at"),
        "equipment_installation",
        ["last_heartbeat_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_equipment_installation_region_code"),
        "equipment_installation",
        ["region_code"],
        unique=False,
    )
    op.create_index(
        "ix_equipment_installation_site_req",
        "equipment_installation",
        ["site_id", "requirement_id"],
        unique=False,
    )
    _seed()


def downgrade() -> None:
    op.drop_table("equipment_installation")
    op.drop_table("equipment_requirement")


def _seed() -> None:
    from datetime import UTC, datetime

    from qorgau.equipment.service import seed_rows

    table = sa.table(
        "equipment_requirement",
        *(
            sa.column(c)
            for c in (
                "code",
                "site_kind",
                "section",
                "division",
                "name_kk",
                "name_ru",
                "name_en",
                "deadline",
                "active",
                "revision",
                "created_at",
                "created_by",
            )
        ),
    )
    now = datetime.now(UTC)
    op.bulk_insert(
        table,
        [
            {**r, "active": True, "revision": 1, "created_at": now, "created_by": "seed"}
            for r in seed_rows()
        ],
    )
