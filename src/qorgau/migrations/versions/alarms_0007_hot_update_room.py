"""alarms: room on each page for the per-group updates of device counters and roll-ups
(PostgreSQL fillfactor), so they can be heap-only (HOT) updates that touch no index

Every ingest group updates one alarm_device row per device it touched (counters, dedup
window, last reading) and upserts one alarm_rollup row per device and minute; none of those
columns is indexed. With full pages (the default fillfactor 100) each new row version goes
to another page and every index of the table gets a new entry.

Revision ID: alarms_0007
Revises: alarms_0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "alarms_0007"
down_revision: str | Sequence[str] | None = "alarms_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = {"alarm_device": 50, "alarm_rollup": 70}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite updates rows in place
    for table, fill in TABLES.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fill})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
