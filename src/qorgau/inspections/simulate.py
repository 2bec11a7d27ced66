"""Synthetic HPF register, technical devices (some examinations overdue) and past violations,
plus the ground truth the planning benchmark scores against.

Truth: `inspections_truth.parquet` (enterprise_id, truly_dangerous). It is the twin's
`dangerous` flag (true injury rate ≥ 2× the national mean) when the registry twin wrote one,
else the top decile of a latent danger drawn here. The product never reads it.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from qorgau.core.db import utcnow
from qorgau.inspections.models import (
    HazardousFacility,
    Prescription,
    TechnicalDevice,
    Violation,
)
from qorgau.registry.models import Enterprise

KINDS = {"B": "mine", "C": "metallurgy", "D": "boiler", "F": "lifting"}
DEVICES = ["crane", "boiler", "pressure_vessel", "lift"]


def _truth(
    truth_dir: Path, ids: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    path = truth_dir / "enterprises.parquet"
    if path.exists():
        t = pl.read_parquet(path)
        cult = dict(zip(t["enterprise_id"].to_list(), t["safety_culture"].to_list(), strict=True))
        dang = dict(zip(t["enterprise_id"].to_list(), t["dangerous"].to_list(), strict=True))
        return (
            np.array([cult.get(int(i), 0.0) for i in ids]),
            np.array([bool(dang.get(int(i), False)) for i in ids]),
        )
    c = rng.normal(0.0, 1.0, len(ids))
    latent = -c + rng.normal(0, 0.5, len(ids))
    return c, latent >= np.quantile(latent, 0.9)


def _hpf_rows(
    ents: list, c: np.ndarray, rng: np.random.Generator, seed: int, today: date
) -> tuple[list[dict], list[dict]]:
    now = utcnow()
    facilities, devices = [], []
    for i, (eid, region, section, hazardous) in enumerate(ents):
        bad = 1 / (1 + np.exp(-(-1.3 - 1.1 * c[i])))  # chance an examination is overdue
        if hazardous:
            for k in range(int(rng.integers(1, 4))):
                overdue = rng.random() < bad
                facilities.append(
                    {
                        "enterprise_id": eid,
                        "region_code": region,
                        "site_id": None,
                        "reg_no": f"HPF{seed}-{eid}-{k}",
                        "name": f"HPF {k + 1}",
                        "kind": KINDS.get(section, "chemical"),
                        "hazard_class": int(
                            rng.integers(1, 3) if section == "B" else rng.integers(1, 5)
                        ),
                        "declaration_date": today - timedelta(days=int(rng.integers(100, 1500))),
                        "expert_exam_due": today
                        + timedelta(
                            days=int(-rng.integers(1, 400) if overdue else rng.integers(10, 900))
                        ),
                        "created_at": now,
                        "created_by": "simulator",
                    }
                )
        if section in "BCDF":
            for k in range(int(rng.integers(0, 6 if hazardous else 3))):
                overdue = rng.random() < bad
                devices.append(
                    {
                        "facility_id": None,
                        "enterprise_id": eid,
                        "region_code": region,
                        "reg_no": f"TD{seed}-{eid}-{k}",
                        "kind": DEVICES[int(rng.integers(0, 4))],
                        "last_exam": today - timedelta(days=int(rng.integers(200, 900))),
                        "exam_due": today
                        + timedelta(
                            days=int(-rng.integers(1, 300) if overdue else rng.integers(10, 700))
                        ),
                        "created_at": now,
                        "created_by": "simulator",
                    }
                )
    return facilities, devices


def _history(
    ents: list, c: np.ndarray, rng: np.random.Generator, today: date
) -> tuple[list[dict], list[tuple[int, str, date, bool]]]:
    """Past inspections' violations (about 8 % of enterprises inspected in 3 years)."""
    now = utcnow()
    rows, presc = [], []
    inspected = rng.random(len(ents)) < 0.08
    for i, (eid, region, _section, _h) in enumerate(ents):
        if not inspected[i]:
            continue
        n = int(rng.poisson(max(0.2, 1.0 - 1.2 * c[i])))
        for _ in range(n):
            found = today - timedelta(days=int(rng.integers(30, 1000)))
            rows.append(
                {
                    "enterprise_id": eid,
                    "region_code": region,
                    "inspection_id": None,
                    "source": "inspection",
                    "item_code": "L0" + str(rng.integers(1, 9)),
                    "norm": "Labour Code RK, Art. 182",
                    "description": "historic (synthetic)",
                    "device_id": None,
                    "facility_id": None,
                    "found_on": found,
                    "state": "eliminated" if rng.random() < 0.7 else "open",
                    "closed_on": None,
                    "created_at": now,
                    "created_by": "simulator",
                }
            )
            presc.append((eid, region, found, rng.random() < 1 / (1 + np.exp(1.0 + c[i]))))
    return rows, presc


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    rng = np.random.default_rng([seed, 9003])
    today = date.today()
    ents = db.execute(
        select(
            Enterprise.id, Enterprise.region_code, Enterprise.section, Enterprise.hazardous
        ).order_by(Enterprise.id)
    ).all()
    if not ents:
        return {"facilities": 0}
    ids = np.array([e[0] for e in ents])
    c, dangerous = _truth(truth_dir, ids, rng)
    facilities, devices = _hpf_rows(ents, c, rng, seed, today)
    violations, presc = _history(ents, c, rng, today)
    for table, rows in (
        (HazardousFacility, facilities),
        (TechnicalDevice, devices),
        (Violation, violations),
    ):
        for k in range(0, len(rows), 5000):
            db.execute(insert(table), rows[k : k + 5000])
    db.flush()
    vids = db.execute(
        select(Violation.id, Violation.enterprise_id)
        .where(Violation.created_by == "simulator", Violation.source == "inspection")
        .order_by(Violation.id)
    ).all()
    now = utcnow()
    prows = [
        {
            "violation_id": vid,
            "enterprise_id": eid,
            "region_code": region,
            "issued_on": found,
            "due_date": found + timedelta(days=30),
            "state": "overdue" if late else "complied",
            "overdue_since": found + timedelta(days=31) if late else None,
            "created_at": now,
            "created_by": "simulator",
        }
        for (vid, _e), (eid, region, found, late) in zip(vids[-len(presc) :], presc, strict=False)
    ]
    for k in range(0, len(prows), 5000):
        db.execute(insert(Prescription), prows[k : k + 5000])
    db.commit()
    truth_dir.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"enterprise_id": ids, "truly_dangerous": dangerous}).write_parquet(
        truth_dir / "inspections_truth.parquet"
    )
    return {
        "facilities": len(facilities),
        "devices": len(devices),
        "violations": len(violations),
        "truly_dangerous": int(dangerous.sum()),
    }
