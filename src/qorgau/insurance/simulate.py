"""Synthetic insurance contracts with realistic gaps, after the registry twin.

About 35 % of employers have no contract (more among those with a poor hidden safety culture),
some contracts have lapsed, some under-cover headcount or payroll. The gaps are then recomputed
exactly as the daily job does. Per-employer truth (what was generated) goes to truth_dir.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from qorgau.accounts.models import Organisation
from qorgau.core.db import utcnow
from qorgau.core.security import SYSTEM_ACTOR
from qorgau.insurance import gaps
from qorgau.insurance.models import InsuranceContract
from qorgau.insurance.premium import expected_premium, monthly_cap
from qorgau.registry.models import Enterprise
from qorgau.registry.refdata import load_insurance_params, oked_risk_class

EMPLOYERS = text("""
SELECT enterprise_id, COUNT(*), SUM(CASE WHEN monthly_wage > :cap THEN :cap ELSE monthly_wage END)
FROM employment WHERE start_date <= :on AND (end_date IS NULL OR end_date >= :on)
GROUP BY enterprise_id
""")


def culture(truth_dir: Path, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Hidden safety culture per enterprise (higher = safer): the twin's, or drawn here."""
    path = truth_dir / "enterprises.parquet"
    if path.exists():
        t = pl.read_parquet(path).select("enterprise_id", "safety_culture")
        got = dict(zip(t["enterprise_id"].to_list(), t["safety_culture"].to_list(), strict=True))
        return np.array([got.get(int(i), 0.0) for i in ids])
    return rng.normal(0.0, 1.0, len(ids))


def _insurers(db: Session) -> list[int]:
    ids = list(db.scalars(select(Organisation.id).where(Organisation.kind == "insurer")))
    if not ids:
        for name in (
            "«Kazakhmys Insurance» (synthetic)",
            "«Nomad Insurance» (synthetic)",
            "«Halyk-Kazakhinstrakh» (synthetic)",
        ):
            org = Organisation(kind="insurer", name=name, created_by="simulator")
            db.add(org)
            db.flush()
            ids.append(org.id)
    return ids


def _p_none(c: np.ndarray) -> np.ndarray:
    # Mean ≈ 0.35 over a standard normal culture; poor culture → more likely uninsured.
    return 1 / (1 + np.exp(-(-0.70 - 0.9 * c)))


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    rng = np.random.default_rng([seed, 9001])
    today = date.today()
    year = today.year
    cap = monthly_cap(year)
    months = load_insurance_params().contract_months
    rows = db.execute(EMPLOYERS, {"cap": cap, "on": today}).all()
    if not rows:
        return {"contracts": 0, "gaps": 0}
    eids = np.array([r[0] for r in rows])
    heads = np.array([r[1] for r in rows])
    pay = np.array([float(r[2] or 0) for r in rows]) * months
    codes = dict(db.execute(select(Enterprise.id, Enterprise.activity_code)).all())
    bins = dict(db.execute(select(Enterprise.id, Enterprise.bin)).all())
    regions = dict(db.execute(select(Enterprise.id, Enterprise.region_code)).all())
    c = culture(truth_dir, eids, rng)
    u = rng.random(len(eids))
    status = np.where(u < _p_none(c), "none", "full")
    r2 = rng.random(len(eids))
    covered = status == "full"
    status = np.where(covered & (r2 < 0.10), "lapsed", status)
    status = np.where(covered & (r2 >= 0.10) & (r2 < 0.22), "headcount", status)
    status = np.where(covered & (r2 >= 0.22) & (r2 < 0.30), "payroll", status)
    insurers = _insurers(db)
    now = utcnow()
    out = []
    for i, eid in enumerate(eids.tolist()):
        st = status[i]
        if st == "none":
            continue
        if st == "lapsed":
            end = today - timedelta(days=int(rng.integers(1, 120)))
            start = end - timedelta(days=364)
        else:
            start = today - timedelta(days=int(rng.integers(0, 330)))
            end = start + timedelta(days=364)
        hc = int(heads[i]) if st != "headcount" else max(0, int(heads[i] * rng.uniform(0.5, 0.9)))
        payroll = pay[i] * (rng.uniform(0.6, 0.85) if st == "payroll" else 1.0)
        payroll = Decimal(round(payroll, 2))
        rc = oked_risk_class(codes[eid])
        out.append(
            {
                "policy_no": f"SIM{seed}-{eid}-{start:%y%m}",
                "enterprise_id": eid,
                "employer_bin": bins[eid],
                "region_code": regions[eid],
                "insurer_org_id": insurers[int(rng.integers(0, len(insurers)))],
                "start_date": start,
                "end_date": end,
                "insured_headcount": hc,
                "payroll": payroll,
                "risk_class": rc.risk_class,
                "tariff_pct": rc.tariff_pct,
                "premium": expected_premium(
                    payroll,
                    hc,
                    start.year if start.year in load_insurance_params().min_wage_kzt else year,
                    rc.tariff_pct,
                ),
                "batch_ref": f"sim-{seed}",
                "created_at": now,
                "created_by": "simulator",
            }
        )
    for k in range(0, len(out), 5000):
        db.execute(insert(InsuranceContract), out[k : k + 5000])
    db.commit()
    result = gaps.recompute(db=db, actor=SYSTEM_ACTOR, on=today)
    truth_dir.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"enterprise_id": eids, "generated_status": status}).write_parquet(
        truth_dir / "insurance.parquet"
    )
    return {
        "contracts": len(out),
        "employers": len(eids),
        "gaps": int(result["open_total"]),
        "uninsured": int((status == "none").sum()),
    }
