"""Ground truth of a simulated registry, written apart from the product's tables.

`var/truth/seed-<N>-<scale>/` (under settings.var_dir) holds what the simulator knows and the
product must find out: per enterprise a hidden safety-culture factor, the true injury rate,
a latent "true danger" score and flag, and a propensity to conceal injuries; plus the
parameters and row counts. Later capabilities (risk scoring, concealment detection,
inspection planning) score themselves against these files.

THE PRODUCT NEVER READS THIS DIRECTORY: only tests, benchmarks and evaluation scripts do.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from qorgau.core.config import get_settings
from qorgau.registry.refdata import oked_risk_class
from qorgau.simulator.constants import REFERENCE_DATE, SCALES
from qorgau.simulator.ids import as_text
from qorgau.simulator.twin import Twin, stream

# True injuries a year in the whole country: BNS 2024 counted 2,471 victims; matching studies
# find 25–40 % under-reporting (DOMAIN.md), so ~3,500 is taken as the true figure
# (illustrative) for ~4.0 M payroll jobs (BNS payroll headcount 3.99 M, 2024).
TRUE_INJURIES_NATIONAL = 3_500
PAYROLL_JOBS_NATIONAL = 3_990_000
DANGER_MULTIPLE = 2.0  # "dangerous": true rate at least twice the country's mean rate


def truth_dir(seed: int, scale: str, base: Path | None = None) -> Path:
    root = base if base is not None else get_settings().var_dir
    return root / "truth" / f"seed-{seed}-{scale}"


def enterprise_truth(twin: Twin, id_offset: int = 0) -> pl.DataFrame:
    """Latent per-enterprise truth (ids as loaded, i.e. shifted by id_offset)."""
    ent = twin.enterprises
    rng = stream(twin.seed, 4)
    n = len(ent["id"])
    culture = rng.normal(0.0, 1.0, n)  # hidden safety culture: higher is safer
    codes = ent["activity_code"]
    risk = np.array([oked_risk_class(c).risk_class for c in codes.tolist()], dtype=float)
    log_rate = 0.12 * (risk - 10) - 0.6 * culture + 0.4 * ent["hazardous"]
    log_rate -= 0.1 * np.log(ent["headcount"])  # small firms: more injuries per worker
    log_rate += rng.normal(0.0, 0.3, n)
    rate = np.exp(log_rate)
    jobs = ent["headcount"].astype(float)
    target = TRUE_INJURIES_NATIONAL * jobs.sum() / PAYROLL_JOBS_NATIONAL
    rate *= target / float(jobs @ rate)  # injuries per worker-year
    mean_rate = target / jobs.sum()
    z = (np.log(rate) - np.log(rate).mean()) / max(float(np.log(rate).std()), 1e-9)
    conceal = 1 / (1 + np.exp(-(-0.9 - 0.8 * culture + rng.normal(0, 0.3, n))))
    return pl.DataFrame({
        "enterprise_id": ent["id"] + id_offset, "bin": as_text(ent["bin"]),
        "safety_culture": culture, "true_injury_rate_per_1000": rate * 1000,
        "expected_injuries_per_year": rate * jobs, "true_danger": 1 / (1 + np.exp(-z)),
        "dangerous": rate >= DANGER_MULTIPLE * mean_rate, "concealment_propensity": conceal,
    })  # fmt: skip


def write_truth(
    twin: Twin, *, counts: dict[str, int], id_offset: int = 0, base: Path | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:  # fmt: skip
    """Write enterprises.parquet and params.json; returns the directory."""
    out = truth_dir(twin.seed, twin.scale, base)
    out.mkdir(parents=True, exist_ok=True)
    table = enterprise_truth(twin, id_offset)
    table.write_parquet(out / "enterprises.parquet")
    params = {
        "seed": twin.seed, "scale": asdict(SCALES[twin.scale]),
        "reference_date": REFERENCE_DATE.isoformat(), "counts": counts,
        "true_injuries_national": TRUE_INJURIES_NATIONAL, "danger_multiple": DANGER_MULTIPLE,
        "dangerous_enterprises": int(table["dangerous"].sum()),
        "expected_injuries_per_year": float(table["expected_injuries_per_year"].sum()),
        "note": "ground truth for evaluation; the product never reads this directory",
        **(extra or {}),
    }  # fmt: skip
    (out / "params.json").write_text(json.dumps(params, indent=2, ensure_ascii=False))
    return out
