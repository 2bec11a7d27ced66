"""Daily coverage-gap recomputation, set-based: three grouped SQL queries and a polars diff.

Steps: `register_frame` (headcount and capped payroll per employer, from the employment
register), `cover_frame` (contracts in force), `lapsed_frame` (last contract that ended), then
`desired_gaps` (what should be open today) diffed against the open gaps: new ones are inserted
with an `insurance.gap.opened` event each, resolved ones are closed.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.db import utcnow
from qorgau.core.events import OutboxEvent
from qorgau.core.security import Actor
from qorgau.insurance.constants import PAYROLL_TOLERANCE, RECOMPUTE_GAPS
from qorgau.insurance.models import CoverageGap
from qorgau.insurance.premium import monthly_cap
from qorgau.registry.refdata import load_insurance_params

REGISTER_SQL = text("""
SELECT enterprise_id AS eid, MIN(region_code) AS region, COUNT(*) AS reg_hc,
       SUM(CASE WHEN monthly_wage > :cap THEN :cap ELSE monthly_wage END) AS reg_pay
FROM employment
WHERE start_date <= :on AND (end_date IS NULL OR end_date >= :on)
GROUP BY enterprise_id
""")
COVER_SQL = text("""
SELECT enterprise_id AS eid, SUM(insured_headcount) AS ins_hc,
       SUM(CASE WHEN payroll > insured_headcount * CAST(:ceiling AS NUMERIC(18, 2))
                THEN insured_headcount * CAST(:ceiling AS NUMERIC(18, 2))
                ELSE payroll END) AS ins_pay,
       MAX(id) AS contract_id, MAX(insurer_org_id) AS insurer
FROM insurance_contract
WHERE start_date <= :on AND end_date >= :on
GROUP BY enterprise_id
""")
LAPSED_SQL = text("""
SELECT c.enterprise_id AS eid, MAX(c.id) AS lapsed_id, MAX(c.insurer_org_id) AS lapsed_insurer
FROM insurance_contract c
JOIN (SELECT enterprise_id, MAX(end_date) AS m FROM insurance_contract
      WHERE end_date < :on GROUP BY enterprise_id) x
  ON x.enterprise_id = c.enterprise_id AND c.end_date = x.m
GROUP BY c.enterprise_id
""")
OPEN_SQL = text("SELECT id, enterprise_id AS eid, kind FROM coverage_gap WHERE closed_on IS NULL")

SCHEMAS: dict[str, dict[str, Any]] = {
    "register": {"eid": pl.Int64, "region": pl.Utf8, "reg_hc": pl.Int64, "reg_pay": pl.Float64},
    "cover": {
        "eid": pl.Int64,
        "ins_hc": pl.Int64,
        "ins_pay": pl.Float64,
        "contract_id": pl.Int64,
        "insurer": pl.Int64,
    },
    "lapsed": {"eid": pl.Int64, "lapsed_id": pl.Int64, "lapsed_insurer": pl.Int64},
    "open": {"id": pl.Int64, "eid": pl.Int64, "kind": pl.Utf8},
}


def _frame(db: Session, sql: Any, name: str, **params: Any) -> pl.DataFrame:
    rows = db.execute(sql, params).all()
    schema = SCHEMAS[name]
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    data = {
        k: [float(v) if schema[k] == pl.Float64 and v is not None else v for v in col]
        for k, col in zip(schema, cols, strict=True)
    }
    return pl.DataFrame(data, schema=schema)


def desired_gaps(
    reg: pl.DataFrame, cover: pl.DataFrame, lapsed: pl.DataFrame, months: int
) -> pl.DataFrame:
    """One row per (employer, kind) that should be open: pure, so it is tested on its own."""
    df = (
        reg.filter(pl.col("reg_hc") > 0)
        .join(cover, on="eid", how="left")
        .join(lapsed, on="eid", how="left")
    )
    df = df.with_columns(
        (pl.col("reg_pay") * months).alias("reg_pay"),
        pl.col("ins_hc").fill_null(0),
        pl.col("ins_pay").fill_null(0.0),
    )
    covered = pl.col("contract_id").is_not_null()
    tol = 1 - float(PAYROLL_TOLERANCE)
    kinds = [
        ("no_contract", ~covered & pl.col("lapsed_id").is_null(), None, None),
        ("lapsed", ~covered & pl.col("lapsed_id").is_not_null(), "lapsed_id", "lapsed_insurer"),
        ("headcount", covered & (pl.col("ins_hc") < pl.col("reg_hc")), "contract_id", "insurer"),
        (
            "payroll",
            covered & (pl.col("ins_pay") < pl.col("reg_pay") * tol),
            "contract_id",
            "insurer",
        ),
    ]
    parts = []
    for kind, cond, cid, org in kinds:
        parts.append(
            df.filter(cond).select(
                "eid",
                "region",
                "reg_hc",
                "ins_hc",
                "reg_pay",
                "ins_pay",
                (pl.col(cid) if cid else pl.lit(None, pl.Int64)).alias("contract_id"),
                (pl.col(org) if org else pl.lit(None, pl.Int64)).alias("insurer"),
                pl.lit(kind).alias("kind"),
            )
        )
    return pl.concat(parts)


def _insert_new(db: Session, new: pl.DataFrame, on: date) -> int:
    if new.is_empty():
        return 0
    now = utcnow()
    rows = [
        {
            "enterprise_id": r["eid"],
            "region_code": r["region"],
            "insurer_org_id": r["insurer"],
            "kind": r["kind"],
            "opened_on": on,
            "closed_on": None,
            "register_headcount": r["reg_hc"],
            "insured_headcount": r["ins_hc"],
            "register_payroll": Decimal(round(r["reg_pay"], 2)),
            "insured_payroll": Decimal(round(r["ins_pay"], 2)),
            "contract_id": r["contract_id"],
            "created_at": now,
        }
        for r in new.iter_rows(named=True)
    ]
    ids = db.scalars(
        insert(CoverageGap).returning(CoverageGap.id, sort_by_parameter_order=True), rows
    ).all()
    events = [
        {
            "type": "insurance.gap.opened",
            "object_type": "coverage_gap",
            "object_id": str(gid),
            "region_code": r["region_code"],
            "enterprise_id": r["enterprise_id"],
            "organisation_id": r["insurer_org_id"],
            "created_at": now,
            "dispatched_at": None,
            "payload": {
                "kind": r["kind"],
                "enterprise_id": r["enterprise_id"],
                "on": on.isoformat(),
                "register_headcount": r["register_headcount"],
                "insured_headcount": r["insured_headcount"],
            },
        }
        for gid, r in zip(ids, rows, strict=True)
    ]
    db.execute(insert(OutboxEvent), events)
    return len(rows)


def _close(db: Session, ids: list[int], on: date) -> int:
    for i in range(0, len(ids), 900):
        db.execute(
            update(CoverageGap).where(CoverageGap.id.in_(ids[i : i + 900])).values(closed_on=on)
        )
    return len(ids)


def recompute(*, db: Session, actor: Actor, on: date) -> dict[str, Any]:
    """Bring the open gaps in line with the register and contracts on `on`; one transaction."""
    actor.require(RECOMPUTE_GAPS)
    t0 = time.perf_counter()
    cap = monthly_cap(on.year)
    months = load_insurance_params().contract_months
    reg = _frame(db, REGISTER_SQL, "register", cap=cap, on=on)
    cover = _frame(db, COVER_SQL, "cover", ceiling=cap * months, on=on)
    lapsed = _frame(db, LAPSED_SQL, "lapsed", on=on)
    want = desired_gaps(reg, cover, lapsed, months)
    have = _frame(db, OPEN_SQL, "open")
    new = want.join(have, on=["eid", "kind"], how="anti")
    stale = have.join(want.select("eid", "kind"), on=["eid", "kind"], how="anti")
    opened = _insert_new(db, new, on)
    closed = _close(db, stale["id"].to_list(), on)
    result = {
        "on": on,
        "opened": opened,
        "closed": closed,
        "open_total": want.height,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    audit.record(
        db,
        actor=actor,
        action="insurance.gaps.recompute",
        object_type="coverage_gap",
        object_id=on.isoformat(),
        after={k: v for k, v in result.items() if k != "seconds"},
    )
    db.commit()
    return result
