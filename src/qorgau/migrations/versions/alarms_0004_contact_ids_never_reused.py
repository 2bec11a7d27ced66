"""alarms: contact ids are never reused on SQLite (AUTOINCREMENT)

A removed contact is deleted; without AUTOINCREMENT SQLite gave the next contact the same id,
so the audit trail of "alarm_contact 1" mixed two different people. PostgreSQL sequences never
reuse ids: nothing changes there.

Revision ID: alarms_0004
Revises: alarms_0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "alarms_0004"
down_revision: str | Sequence[str] | None = "alarms_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recreate(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("alarm_contact", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _recreate(True)


def downgrade() -> None:
    _recreate(False)
