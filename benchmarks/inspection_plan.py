"""Risk-based vs random inspection plans on the synthetic twin, over several seeds.

For each seed: a fresh SQLite database, the registry twin (`small` by default), then the
insurance, equipment and inspections simulators. In every region the plan of size K (5 % of the
region's enterprises, at least 1) takes the K highest explainable risk scores; the random plan's
expected hits are K × the region's share of truly dangerous enterprises (the exact mean of a
uniform draw). Ground truth: truth_dir/inspections_truth.parquet (never read by the product).

    .venv/bin/python benchmarks/inspection_plan.py [--seeds 1 2 3] [--scale small]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_seed(seed: int, scale: str, share: float) -> tuple[float, float, int]:
    tmp = Path(tempfile.mkdtemp(prefix=f"i9-plan-{seed}-"))
    url = f"sqlite:///{tmp / 'q.sqlite3'}"
    os.environ["QORGAU_DATABASE_URL"], os.environ["QORGAU_VAR_DIR"] = url, str(tmp)
    from qorgau.core.config import get_settings
    from qorgau.core.db import get_sessionmaker, reset_engine

    get_settings.cache_clear()
    reset_engine()
    import polars as pl

    from qorgau.core.migrate import upgrade
    from qorgau.equipment import simulate as eq_sim
    from qorgau.inspections import simulate as insp_sim
    from qorgau.inspections.planning import rank
    from qorgau.insurance import simulate as ins_sim
    from qorgau.simulator.service import simulate

    upgrade(url)
    summary = simulate(engine_or_url=url, seed=seed, scale=scale)
    truth = summary.truth_dir
    with get_sessionmaker()() as db:
        for mod in (ins_sim, eq_sim, insp_sim):
            mod.simulate(db=db, seed=seed, scale=scale, truth_dir=truth)
        t = pl.read_parquet(truth / "inspections_truth.parquet")
        danger = dict(zip(t["enterprise_id"].to_list(), t["truly_dangerous"].to_list(),
                          strict=True))
        from sqlalchemy import select

        from qorgau.registry.models import Enterprise

        regions = sorted(set(db.scalars(select(Enterprise.region_code))))
        hits = expected_random = 0.0
        planned = 0
        for region in regions:
            ranked = rank(db, region, "labour", date.today())
            k = max(1, round(share * len(ranked)))
            hits += sum(danger.get(eid, False) for eid, _s, _r in ranked[:k])
            prevalence = sum(danger.get(eid, False) for eid, _s, _r in ranked) / len(ranked)
            expected_random += k * prevalence
            planned += k
    return hits, expected_random, planned


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--scale", default="small")
    ap.add_argument("--share", type=float, default=0.05)
    args = ap.parse_args()
    t0 = time.perf_counter()
    tot_hits = tot_rand = 0.0
    for seed in args.seeds:
        hits, rand, k = run_seed(seed, args.scale, args.share)
        print(f"seed {seed}: plan K={k}: risk-based {hits:.0f} truly dangerous, "
              f"random expected {rand:.1f} (×{hits / rand:.2f})")
        tot_hits, tot_rand = tot_hits + hits, tot_rand + rand
    from _common import report

    report(f"truly dangerous found by a risk-based plan (K = {args.share:.0%} per region, "
           f"{args.scale} twin, seeds {' '.join(map(str, args.seeds))})",
           tot_hits / len(args.seeds), "per plan", tot_rand / len(args.seeds),
           "per random plan (expected)")
    print(f"elapsed {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
