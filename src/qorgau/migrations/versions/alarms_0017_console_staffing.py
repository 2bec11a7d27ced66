"""alarms: the history of each site's console operators (`alarm_console_staffing`), so the
alarm KPIs of a past window divide by the operators on duty then. Filled from the audit trail
of the settings (`alarms.shifts.set`, whose after-image names the number since alarms_0016),
then, where a site's current number still differs, one row from the latest of the settings
row's creation and the site's last row

Revision ID: alarms_0017
Revises: alarms_0016
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "alarms_0017"
down_revision: str | Sequence[str] | None = "alarms_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAFFING = sa.table(
    "alarm_console_staffing", sa.column("site_id", sa.Integer),
    sa.column("enterprise_id", sa.Integer), sa.column("region_code", sa.String),
    sa.column("operators", sa.Integer), sa.column("valid_from", sa.DateTime(timezone=True)),
    sa.column("created_at", sa.DateTime(timezone=True)), sa.column("created_by", sa.String))
_AUDIT = sa.table("audit_entry", sa.column("seq", sa.Integer), sa.column("at", sa.DateTime),
                  sa.column("action", sa.String), sa.column("actor", sa.String),
                  sa.column("diff", sa.JSON))
_POLICY = sa.table("alarm_escalation", sa.column("site_id", sa.Integer),
                   sa.column("enterprise_id", sa.Integer), sa.column("region_code", sa.String),
                   sa.column("console_operators", sa.Integer),
                   sa.column("created_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.create_table(
        "alarm_console_staffing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=5), nullable=False),
        sa.Column("operators", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.CheckConstraint("operators BETWEEN 1 AND 20",
                           name=op.f("ck_alarm_console_staffing_operators_range")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"],
                                name=op.f("fk_alarm_console_staffing_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_console_staffing")),
    )
    op.create_index(op.f("ix_alarm_console_staffing_site_from"), "alarm_console_staffing",
                    ["site_id", "valid_from"])
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    policies = {r.site_id: r for r in conn.execute(sa.select(_POLICY))}
    last: dict[int, int] = {}
    since: dict[int, Any] = {}
    rows: list[dict[str, Any]] = []
    for a in conn.execute(sa.select(_AUDIT).where(_AUDIT.c.action == "alarms.shifts.set")
                          .order_by(_AUDIT.c.seq)):
        after = (a.diff or {}).get("after") or {}
        site, n = after.get("site_id"), after.get("console_operators")
        p = policies.get(site)
        if p is None or not isinstance(n, int) or last.get(site, 1) == n:
            continue
        last[site], since[site] = n, a.at
        rows.append(_row(p, n, a.at, a.actor))
    for site, p in policies.items():  # set before the trail named the number
        if last.get(site, 1) != p.console_operators:
            at = max(p.created_at, since.get(site, p.created_at))
            rows.append(_row(p, p.console_operators, at, "alarms_0017"))
    if rows:
        conn.execute(_STAFFING.insert(), rows)


def _row(p: Any, n: int, at: Any, by: str) -> dict[str, Any]:
    return {"site_id": p.site_id, "enterprise_id": p.enterprise_id,
            "region_code": p.region_code, "operators": n, "valid_from": at, "created_at": at,
            "created_by": by[:200]}


def downgrade() -> None:
    op.drop_index(op.f("ix_alarm_console_staffing_site_from"), "alarm_console_staffing")
    op.drop_table("alarm_console_staffing")
