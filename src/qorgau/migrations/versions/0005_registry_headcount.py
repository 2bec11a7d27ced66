"""registry: pre-aggregated headcount (headcount_change), kept by triggers on employment

A contract is in force on D when start_date <= D and (end_date IS NULL OR end_date >= D): it adds
+1 on start_date and -1 on end_date + 1. `headcount_change` holds the net change per region,
OKED section and period at three grains (D day, M month, Y year), so the headcount on any date
is a sum over at most (years + 11 months + 31 days) x regions x sections small rows instead of a
scan of every contract. Database triggers keep it in the same transaction as every write to
`employment`, whichever path makes it (ORM, bulk feed, simulator COPY, raw SQL): PostgreSQL
with statement-level triggers over transition tables (one grouped upsert per statement, so a
COPY of millions of contracts costs one aggregation), SQLite with row triggers. Existing
contracts are aggregated once here.

Revision ID: 0005_registry_headcount
Revises: 0004_registry_collation
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_registry_headcount"
down_revision: str | Sequence[str] | None = "0004_registry_collation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "headcount_change"
KEY = "grain, starts_on, region_code, section"

# ---- PostgreSQL: one grouped upsert per statement ---------------------------------------

PG_EVENTS = {
    "ins": "{n}",
    "del": "{o}",
    "upd": "{n} UNION ALL {o}",
}
PG_ROWS = (
    "SELECT region_code, section, start_date AS day, {s} AS delta FROM {t} "
    "UNION ALL SELECT region_code, section, end_date + 1, -({s}) FROM {t} "
    "WHERE end_date IS NOT NULL"
)


def _pg_body(events: str) -> str:
    # per-day net first (one pass over the statement's rows), then the three grains; sorted
    # so concurrent writers lock the aggregate rows in the same order (no deadlock)
    return f"""
    INSERT INTO {TABLE} ({KEY}, delta)
    SELECT g.grain, g.starts_on, c.region_code, c.section, sum(c.delta)
    FROM (
        SELECT region_code, section, day, sum(delta) AS delta FROM ({events}) e
        GROUP BY region_code, section, day HAVING sum(delta) <> 0
    ) c
    CROSS JOIN LATERAL (VALUES
        ('D', c.day),
        ('M', date_trunc('month', c.day::timestamp)::date),
        ('Y', date_trunc('year', c.day::timestamp)::date)) AS g(grain, starts_on)
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT ({KEY}) DO UPDATE SET delta = {TABLE}.delta + EXCLUDED.delta"""


def _pg_upgrade() -> None:
    new, old = PG_ROWS.format(s="1", t="new_rows"), PG_ROWS.format(s="-1", t="old_rows")
    refs = {
        "ins": ("INSERT", "REFERENCING NEW TABLE AS new_rows"),
        "del": ("DELETE", "REFERENCING OLD TABLE AS old_rows"),
        "upd": ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    }
    for op_name, (event, referencing) in refs.items():
        events = PG_EVENTS[op_name].format(n=new, o=old)
        op.execute(
            f"CREATE FUNCTION employment_headcount_{op_name}() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {_pg_body(events)}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER employment_headcount_{op_name} AFTER {event} ON employment "
            f"{referencing} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION employment_headcount_{op_name}()"
        )


def _pg_backfill() -> None:
    op.execute(_pg_body(PG_ROWS.format(s="1", t="employment")))


# ---- SQLite: row triggers -------------------------------------------------------------------


def _sqlite_apply(row: str, sign: int) -> str:
    """Upserts for one contract row (NEW or OLD) counted with `sign`."""
    end = f"date({row}.end_date, '+1 day')"
    out = []
    ends = f"{row}.end_date IS NOT NULL"
    for day, s, cond in ((f"{row}.start_date", sign, "1"), (end, -sign, ends)):
        out.append(
            f"INSERT INTO {TABLE} ({KEY}, delta) "
            f"SELECT g, p, {row}.region_code, {row}.section, {s} FROM ("
            f"SELECT 'D' AS g, {day} AS p UNION ALL "
            f"SELECT 'M', strftime('%Y-%m-01', {day}) UNION ALL "
            f"SELECT 'Y', strftime('%Y-01-01', {day})) WHERE {cond} "
            f"ON CONFLICT ({KEY}) DO UPDATE SET delta = delta + excluded.delta;"
        )
    return " ".join(out)


def _sqlite_upgrade() -> None:
    changed = " OR ".join(
        f"OLD.{c} IS NOT NEW.{c}" for c in ("region_code", "section", "start_date", "end_date")
    )
    op.execute(
        "CREATE TRIGGER employment_headcount_ins AFTER INSERT ON employment "
        f"BEGIN {_sqlite_apply('NEW', 1)} END"
    )
    op.execute(
        "CREATE TRIGGER employment_headcount_del AFTER DELETE ON employment "
        f"BEGIN {_sqlite_apply('OLD', -1)} END"
    )
    op.execute(
        "CREATE TRIGGER employment_headcount_upd AFTER UPDATE ON employment "
        f"WHEN {changed} BEGIN {_sqlite_apply('OLD', -1)} {_sqlite_apply('NEW', 1)} END"
    )


def _sqlite_backfill() -> None:
    for day, s, cond in (
        ("start_date", 1, "1"),
        ("date(end_date, '+1 day')", -1, "end_date IS NOT NULL"),
    ):
        for grain, expr in (("D", day), ("M", f"strftime('%Y-%m-01', {day})"),
                            ("Y", f"strftime('%Y-01-01', {day})")):  # fmt: skip
            op.execute(
                f"INSERT INTO {TABLE} ({KEY}, delta) "
                f"SELECT '{grain}', {expr}, region_code, section, {s} * count(*) "
                f"FROM employment WHERE {cond} GROUP BY 2, 3, 4 "
                f"ON CONFLICT ({KEY}) DO UPDATE SET delta = delta + excluded.delta"
            )


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("section", sa.String(length=1), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.CheckConstraint("grain IN ('D', 'M', 'Y')", name=op.f("ck_headcount_change_grain")),
        sa.PrimaryKeyConstraint(
            "grain", "starts_on", "region_code", "section", name=op.f("pk_headcount_change")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        _pg_backfill()
        _pg_upgrade()
    else:
        _sqlite_backfill()
        _sqlite_upgrade()


def downgrade() -> None:
    for name in ("ins", "del", "upd"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS employment_headcount_{name} ON employment")
            op.execute(f"DROP FUNCTION IF EXISTS employment_headcount_{name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS employment_headcount_{name}")
    op.drop_table(TABLE)
