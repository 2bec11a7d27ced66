"""alarms: alarm consoles shared by sites (`alarm_console`), each site's console history
(`alarm_console_member`), and staffing rows for a shared console (`alarm_console_staffing`
gains `console_id`; a row is a site's own console or a shared one, one of the two)

Revision ID: alarms_0018
Revises: alarms_0017
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0018"
down_revision: str | Sequence[str] | None = "alarms_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("created_by", sa.String(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "alarm_console",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("operators", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        *_created(),
        sa.CheckConstraint("operators BETWEEN 1 AND 20",
                           name=op.f("ck_alarm_console_operators_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_console")),
        sa.UniqueConstraint("enterprise_id", "name",
                            name=op.f("uq_alarm_console_enterprise_id_name")),
    )
    op.create_table(
        "alarm_console_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("console_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        *_created(),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_alarm_console_member_site_id_site")),
        sa.ForeignKeyConstraint(["console_id"], ["alarm_console.id"],
                                name=op.f("fk_alarm_console_member_console_id_alarm_console")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_console_member")),
    )
    op.create_index(op.f("ix_alarm_console_member_site_from"), "alarm_console_member",
                    ["site_id", "valid_from"])
    op.create_index(op.f("ix_alarm_console_member_console"), "alarm_console_member",
                    ["console_id"])
    with op.batch_alter_table("alarm_console_staffing") as t:
        t.add_column(sa.Column("console_id", sa.Integer(), nullable=True))
        t.alter_column("site_id", existing_type=sa.Integer(), nullable=True)
        t.create_foreign_key(op.f("fk_alarm_console_staffing_console_id_alarm_console"),
                             "alarm_console", ["console_id"], ["id"])
        t.create_check_constraint(op.f("ck_alarm_console_staffing_site_or_console"),
                                  "(site_id IS NULL) <> (console_id IS NULL)")
        t.create_index(op.f("ix_alarm_console_staffing_console_from"),
                       ["console_id", "valid_from"])


def downgrade() -> None:
    with op.batch_alter_table("alarm_console_staffing") as t:
        t.drop_index(op.f("ix_alarm_console_staffing_console_from"))
        t.drop_constraint(op.f("ck_alarm_console_staffing_site_or_console"), type_="check")
        t.drop_constraint(op.f("fk_alarm_console_staffing_console_id_alarm_console"),
                          type_="foreignkey")
        t.drop_column("console_id")
    op.execute("DELETE FROM alarm_console_staffing WHERE site_id IS NULL")
    with op.batch_alter_table("alarm_console_staffing") as t:
        t.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("alarm_console_member")
    op.drop_table("alarm_console")
