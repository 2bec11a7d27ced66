"""alarms: a withdraw order given without an alarm (the console's button) is tracked like one
started by an alarm: the order keeps why it was given (`alarm_withdrawal.reason`), and its
device commands are outbox rows of their own (`alarm_notification.alarm_id` may be null, then
`withdrawal_id` names the order; one of the two is always set)

Revision ID: alarms_0015
Revises: alarms_0014
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0015"
down_revision: str | Sequence[str] | None = "alarms_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_alarm_notification_alarm_or_order"  # the full name (`op.f` in use)


def upgrade() -> None:
    with op.batch_alter_table("alarm_withdrawal") as t:
        t.add_column(sa.Column("reason", sa.String(300), nullable=False, server_default=""))
    with op.batch_alter_table("alarm_notification") as t:
        t.alter_column("alarm_id", existing_type=sa.Integer(), nullable=True)
        t.add_column(sa.Column("withdrawal_id", sa.Integer(), nullable=True))
        t.create_foreign_key(op.f("fk_alarm_notification_withdrawal_id_alarm_withdrawal"),
                             "alarm_withdrawal", ["withdrawal_id"], ["id"])
        t.create_index(op.f("ix_alarm_notification_withdrawal_id"), ["withdrawal_id"])
        t.create_check_constraint(op.f(_CHECK), "alarm_id IS NOT NULL OR withdrawal_id IS NOT NULL")


def downgrade() -> None:
    # an order's own command rows have no alarm to belong to, and are regulated records:
    # refused rather than deleted
    orphans = op.get_bind().scalar(sa.text(
        "SELECT count(*) FROM alarm_notification WHERE alarm_id IS NULL"))
    if orphans:
        raise RuntimeError(f"{orphans} withdraw-order command rows have no alarm; "
                           "alarms_0015 cannot be undone without losing them")
    with op.batch_alter_table("alarm_notification") as t:
        t.drop_constraint(op.f(_CHECK), type_="check")
        t.drop_index(op.f("ix_alarm_notification_withdrawal_id"))
        t.drop_constraint(op.f("fk_alarm_notification_withdrawal_id_alarm_withdrawal"),
                          type_="foreignkey")
        t.drop_column("withdrawal_id")
        t.alter_column("alarm_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("alarm_withdrawal") as t:
        t.drop_column("reason")
