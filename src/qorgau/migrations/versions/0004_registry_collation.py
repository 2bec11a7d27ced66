"""registry: byte-order ("C") collation on hash/code columns

worker.iin_hash (hex), enterprise.bin (digits) and employment.contract_no (ASCII code) are
compared for equality and uniqueness only; under "C" their unique indexes sort bytes (memcmp,
abbreviated keys) instead of calling the database's linguistic collation, which makes the
bulk-load index rebuild several times faster. Nothing users see changes order: for digits and
hex the two orders agree. PostgreSQL only (SQLite compares bytes already).

Revision ID: 0004_registry_collation
Revises: 0003_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004_registry_collation"
down_revision: str | Sequence[str] | None = "0003_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("worker", "iin_hash", 64), ("enterprise", "bin", 12), ("employment", "contract_no", 40))


def _set_collation(collation: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, length in COLUMNS:
        # Same type, new collation: no table rewrite; the column's unique index is rebuilt.
        op.execute(
            f"ALTER TABLE {table} ALTER COLUMN {column} "
            f'TYPE varchar({length}) COLLATE "{collation}"'
        )


def upgrade() -> None:
    _set_collation("C")


def downgrade() -> None:
    _set_collation("default")
