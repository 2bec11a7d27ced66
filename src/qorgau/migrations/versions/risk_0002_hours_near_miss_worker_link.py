"""risk: hours worked per month (LTIFR), near misses recorded by the enterprise, worker-account
link

Revision ID: risk_0002
Revises: risk_0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "risk_0002"
down_revision: str | Sequence[str] | None = "risk_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = sa.text("unlinked_at IS NULL")


def _created() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
    ]


def _enterprise_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["enterprise_id"], ["enterprise.id"], name=op.f(f"fk_{table}_enterprise_id_enterprise")
    )


def upgrade() -> None:
    op.create_table(
        "risk_hours_worked",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        *_created(),
        _enterprise_fk("risk_hours_worked"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_hours_worked")),
        sa.UniqueConstraint(
            "enterprise_id",
            "year",
            "month",
            "revision",
            name=op.f("uq_risk_hours_worked_enterprise_id_year_month_revision"),
        ),
    )
    for col in ("enterprise_id", "region_code"):
        op.create_index(op.f(f"ix_risk_hours_worked_{col}"), "risk_hours_worked", [col])

    op.create_table(
        "risk_near_miss",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("hazard_type", sa.String(length=30), nullable=False),
        sa.Column("potential_severity", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_created(),
        _enterprise_fk("risk_near_miss"),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_risk_near_miss_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["risk_hazard.id"], name=op.f("fk_risk_near_miss_hazard_id_risk_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_near_miss")),
    )
    op.create_index(op.f("ix_risk_near_miss_region_code"), "risk_near_miss", ["region_code"])
    op.create_index(
        "ix_risk_near_miss_enterprise_day", "risk_near_miss", ["enterprise_id", "occurred_on"]
    )

    op.create_table(
        "risk_worker_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unlinked_by", sa.String(length=200), nullable=True),
        *_created(),
        _enterprise_fk("risk_worker_account"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_risk_worker_account_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_risk_worker_account_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_worker_account")),
    )
    op.create_index(
        op.f("ix_risk_worker_account_enterprise_id"), "risk_worker_account", ["enterprise_id"]
    )
    for col in ("user_id", "worker_id"):
        op.create_index(
            f"uq_risk_worker_account_{col}_active",
            "risk_worker_account",
            [col],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )


def downgrade() -> None:
    for table in ("risk_worker_account", "risk_near_miss", "risk_hours_worked"):
        op.drop_table(table)
