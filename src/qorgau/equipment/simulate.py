"""Synthetic installations of mandatory OSH equipment: some items missing, some not reporting.

Sites with a poorer hidden safety culture miss more items and have more silent devices.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
from sqlalchemy import insert
from sqlalchemy.orm import Session

from qorgau.core.db import utcnow
from qorgau.equipment.models import Installation
from qorgau.equipment.service import _required_pairs


def _culture(truth_dir: Path, ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    path = truth_dir / "enterprises.parquet"
    if path.exists():
        t = pl.read_parquet(path).select("enterprise_id", "safety_culture")
        got = dict(zip(t["enterprise_id"].to_list(), t["safety_culture"].to_list(), strict=True))
        return np.array([got.get(int(i), 0.0) for i in ids])
    return rng.normal(0.0, 1.0, len(ids))


def simulate(*, db: Session, seed: int, scale: str, truth_dir: Path) -> dict[str, int]:
    rng = np.random.default_rng([seed, 9002])
    pairs = db.execute(_required_pairs()).all()
    if not pairs:
        return {"required": 0, "installations": 0}
    eids = np.array([p.eid for p in pairs])
    c = _culture(truth_dir, eids, rng)
    missing = rng.random(len(pairs)) < 1 / (1 + np.exp(-(-1.1 - 1.0 * c)))
    silent = rng.random(len(pairs)) < 1 / (1 + np.exp(-(-1.6 - 0.9 * c)))
    now = utcnow()
    rows = []
    for i, p in enumerate(pairs):
        if missing[i]:
            continue
        last = (
            now - timedelta(minutes=int(rng.integers(1, 360)))
            if not silent[i]
            else (
                None
                if rng.random() < 0.3
                else now - timedelta(hours=int(rng.integers(25, 24 * 60)))
            )
        )
        rows.append(
            {
                "site_id": p.site_id,
                "requirement_id": p.req_id,
                "enterprise_id": p.eid,
                "region_code": p.region,
                "section": p.section,
                "serial_no": f"SIM{seed}-{i:07d}",
                "model": "",
                "commissioned_on": (now - timedelta(days=int(rng.integers(30, 700)))).date(),
                "act_file": None,
                "photos": [],
                "status": "active",
                "last_heartbeat_at": last,
                "created_at": now,
                "created_by": "simulator",
            }
        )
    for k in range(0, len(rows), 5000):
        db.execute(insert(Installation), rows[k : k + 5000])
    db.commit()
    return {
        "required": len(pairs),
        "installations": len(rows),
        "missing": int(missing.sum()),
        "silent": int((~missing & silent).sum()),
    }
