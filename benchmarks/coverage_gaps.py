"""Daily coverage-gap recomputation time on the largest twin generated in time.

Builds the registry twin on PostgreSQL (or SQLite with --sqlite), runs the insurance simulator
(contracts with gaps), then times `recompute` twice: the first run after the simulator's own
(no changes → pure recomputation) and a run on the next day (lapsed contracts open new gaps).

    .venv/bin/python benchmarks/coverage_gaps.py [--scale region] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="region")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sqlite", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="i9-gaps-"))
    if args.sqlite:
        url = f"sqlite:///{tmp / 'q.sqlite3'}"
    else:
        name = f"i9_gaps_{args.scale}_{args.seed}"
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    os.environ["QORGAU_DATABASE_URL"], os.environ["QORGAU_VAR_DIR"] = url, str(tmp)
    from sqlalchemy import func, select

    from qorgau.core.db import get_sessionmaker
    from qorgau.core.migrate import upgrade
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.insurance import gaps
    from qorgau.insurance import simulate as ins_sim
    from qorgau.insurance.models import InsuranceContract
    from qorgau.registry.models import Employment, Enterprise
    from qorgau.simulator.service import simulate

    upgrade(url)
    t0 = time.perf_counter()
    summary = simulate(engine_or_url=url, seed=args.seed, scale=args.scale)
    print(f"twin loaded in {time.perf_counter() - t0:.0f} s: {summary.counts}")
    with get_sessionmaker()() as db:
        t1 = time.perf_counter()
        made = ins_sim.simulate(db=db, seed=args.seed, scale=args.scale,
                                truth_dir=summary.truth_dir)
        print(f"insurance simulator {time.perf_counter() - t1:.0f} s: {made}")
        n_ent = db.scalar(select(func.count()).select_from(Enterprise))
        n_emp = db.scalar(select(func.count()).select_from(Employment))
        n_con = db.scalar(select(func.count()).select_from(InsuranceContract))
        steady = gaps.recompute(db=db, actor=SYSTEM_ACTOR, on=date.today())
        nxt = gaps.recompute(db=db, actor=SYSTEM_ACTOR, on=date.today() + timedelta(days=30))
    print(f"steady: {steady}\nnext month: {nxt}")
    from _common import report

    label = (f"coverage-gap recomputation, {args.scale} twin ({n_ent:,} enterprises, "
             f"{n_emp:,} employment contracts, {n_con:,} insurance contracts, "
             f"{'SQLite' if args.sqlite else 'PostgreSQL'})")
    report(label, max(steady["seconds"], nxt["seconds"]), "s", 60, "s target (national)")


if __name__ == "__main__":
    main()
