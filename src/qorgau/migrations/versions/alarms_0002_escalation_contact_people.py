"""alarms: per-site escalation policy; contacts belong to a person (name, account) and have
quiet hours

Revision ID: alarms_0002
Revises: alarms_0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0002"
down_revision: str | Sequence[str] | None = "alarms_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarm_escalation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("tier2_after_s", sa.Integer(), nullable=False),
        sa.Column("tier3_after_s", sa.Integer(), nullable=False),
        sa.Column("tier4_after_s", sa.Integer(), nullable=False),
        sa.Column("reminder_s", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_alarm_escalation_site_id_site")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_escalation")),
        sa.UniqueConstraint("site_id", name=op.f("uq_alarm_escalation_site_id")),
    )
    with op.batch_alter_table("alarm_contact") as batch:
        batch.add_column(sa.Column("name", sa.String(length=120), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_start", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("quiet_end", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_alarm_contact_user_id_app_user"), "app_user",
                                 ["user_id"], ["id"])
        batch.create_index(op.f("ix_alarm_contact_user_id"), ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("alarm_contact") as batch:
        batch.drop_index(op.f("ix_alarm_contact_user_id"))
        batch.drop_constraint(op.f("fk_alarm_contact_user_id_app_user"), type_="foreignkey")
        for col in ("quiet_end", "quiet_start", "user_id", "name"):
            batch.drop_column(col)
    op.drop_table("alarm_escalation")
