"""Bulk inbound of employment-contract deltas into PostgreSQL.

Figure: rows/s (and the time for 1M hires) through the integration path (row validation with
pydantic, IIN checks, then registry.service.apply_employment_deltas: set-based selects, keyed
IIN hashes, multi-row inserts) in deliveries of 200,000 rows, each one transaction.
Baseline: row-by-row registry.service.register_employment (one call, one commit per row) on a
sample, extrapolated.

    .venv/bin/python benchmarks/bulk_employment.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks._common import report  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
ENTERPRISES = 2_000
DELIVERY = 200_000


def _db() -> tuple[str, str]:
    name = f"qorgau_bench_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _iins(n: int) -> list[str]:
    from qorgau.core.identifiers import complete

    out, serial = [], 0
    while len(out) < n:
        serial += 1
        day = date(1960 + serial % 40, 1 + serial % 12, 1 + serial % 28)
        v = complete(f"{day:%y%m%d}3{serial // 480 % 10_000:04d}")
        if v:
            out.append(v)
    return list(dict.fromkeys(out))


def _bins(n: int) -> list[str]:
    from qorgau.core.identifiers import complete

    out, serial = [], 0
    while len(out) < n:
        serial += 1
        v = complete(f"1001400{serial:04d}")
        if v:
            out.append(v)
    return out


def _setup(bins: list[str]) -> None:
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EnterpriseIn

    rows = [EnterpriseIn(bin=b, name=f"Bench {i}", activity_code="05", region_code="KZ-35",
                         lon=73.1, lat=49.8, size_band="large") for i, b in enumerate(bins)]
    with get_sessionmaker()() as db:
        registry.upsert_enterprises(db=db, actor=SYSTEM_ACTOR, rows=rows)
        db.commit()


def _hire(i: int, iin: str, bin_: str, now: str) -> dict[str, object]:
    return {"op": "hire", "contract_no": f"B-{i:08d}", "enterprise_bin": bin_,
            "worker": {"iin": iin, "last_name": "Bench", "first_name": "Worker"},
            "occupation": "miner", "start_date": "2025-01-01", "monthly_wage": 300000,
            "changed_at": now}


def _bulk(rows: int, iins: list[str], bins: list[str]) -> float:
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.roles import Role
    from qorgau.core.security import Actor
    from qorgau.integration.bulk import validate_rows
    from qorgau.integration.connectors import CONNECTORS
    from qorgau.integration.monitor import record_receipt

    actor = Actor(kind="system", id=None, name="bench", role=Role.SYSTEM,
                  feed="employment-contracts")
    handler = CONNECTORS["employment-contracts"].handler
    now = datetime.now(UTC).isoformat()
    started = time.perf_counter()
    for lo in range(0, rows, DELIVERY):
        hi = min(rows, lo + DELIVERY)
        batch = [_hire(i, iins[i % len(iins)], bins[i % len(bins)], now) for i in range(lo, hi)]
        t0 = time.perf_counter()
        parsed, errors = validate_rows(handler.row_model, batch)
        assert not errors, errors[:3]
        with get_sessionmaker()() as db:
            out = handler.apply(db, actor, parsed, "bench")
            assert not out.errors, out.errors[:3]
            record_receipt(db, feed="employment-contracts", actor=actor, delivery_id="bench",
                           rows=len(batch), accepted=len(batch), status="accepted")
            db.commit()
        print(f"  rows {lo:>9,}–{hi:>9,}: {time.perf_counter() - t0:6.1f} s", flush=True)
    return time.perf_counter() - started


def _row_by_row(sample: int, iins: list[str], bins: list[str]) -> float:
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.registry.schemas import EmploymentIn, WorkerIn

    started = time.perf_counter()
    with get_sessionmaker()() as db:
        for i in range(sample):
            registry.register_employment(db=db, actor=SYSTEM_ACTOR, data=EmploymentIn(
                contract_no=f"R-{i:08d}", enterprise_bin=bins[i % len(bins)],
                worker=WorkerIn(iin=iins[-(i + 1)], last_name="Row", first_name="ByRow"),
                occupation="miner", start_date=date(2025, 1, 1)))
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=1_000)
    args = ap.parse_args()
    name, url = _db()
    os.environ["QORGAU_DATABASE_URL"] = url
    try:
        from qorgau.core.config import get_settings
        from qorgau.core.db import reset_engine
        from qorgau.core.migrate import upgrade

        get_settings.cache_clear()
        reset_engine()
        upgrade(url)
        bins = _bins(ENTERPRISES)
        iins = _iins(args.rows + args.sample)
        _setup(bins)
        print(f"{len(iins):,} distinct IINs, {len(bins):,} enterprises; bulk {args.rows:,} hires")
        bulk = _bulk(args.rows, iins, bins)
        rbr = _row_by_row(args.sample, iins, bins)
        rate, base = args.rows / bulk, args.sample / rbr
        print(f"bulk: {bulk:.1f} s for {args.rows:,} rows; row-by-row: {rbr:.1f} s for "
              f"{args.sample:,} → {args.rows / base / 60:.0f} min for {args.rows:,} (extrapolated)")
        report(f"bulk employment deltas into PostgreSQL ({args.rows:,} hires, {bulk:.0f} s)",
               rate, "rows/s", base, "rows/s row-by-row service calls")
    finally:
        from qorgau.core.db import reset_engine

        reset_engine()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
