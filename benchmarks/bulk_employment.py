"""Bulk inbound of employment-contract deltas into PostgreSQL.

Figure: rows/s (and the time for 1M hires) through the integration path
(integration.service.apply_rows: row validation with pydantic and a delivery-wide IIN check,
registry apply_employment_deltas with set-based lookups, keyed IIN hashes and COPY, the
receipt and one audit entry with the rows' digest) in deliveries of 200,000 rows, each one
transaction. Baselines, measured in the same run: the previous path (IIN checked row by row,
IN-list lookups of 5,000 bound values, ids fetched through the ORM; kept below as
`_previous`) on the first delivery into an empty database, against the current path's first
delivery; and row-by-row registry.service.register_employment (one call, one commit per row)
on a sample, extrapolated.

    .venv/bin/python benchmarks/bulk_employment.py --rows 1000000 [--db sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
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


def _db(kind: str = "postgresql") -> tuple[str, str]:
    name = f"qorgau_bench_{secrets.token_hex(3)}"
    if kind == "sqlite":
        return name, f"sqlite:////tmp/{name}.sqlite3"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


@contextlib.contextmanager
def _fresh(kind: str, bins: list[str]):
    """A new migrated database with the benchmark's enterprises, dropped afterwards."""
    from qorgau.core.config import get_settings
    from qorgau.core.db import reset_engine
    from qorgau.core.migrate import upgrade

    name, url = _db(kind)
    os.environ["QORGAU_DATABASE_URL"] = url
    try:
        get_settings.cache_clear()
        reset_engine()
        upgrade(url)
        _setup(bins)
        yield
    finally:
        reset_engine()
        if kind == "sqlite":
            Path(f"/tmp/{name}.sqlite3").unlink(missing_ok=True)
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def _previous():
    """The bulk path as it was before set-based validation and array lookups."""
    import numpy as np
    from sqlalchemy import select, text

    from qorgau.integration import bulk as ib
    from qorgau.registry import bulk as rb
    from qorgau.registry.models import Employment, Worker

    def contracts(db, numbers):
        found = {}
        cols = (Employment.id, Employment.contract_no, Employment.worker_id,
                Employment.enterprise_id, Employment.occupation, Employment.start_date,
                Employment.end_date, Employment.monthly_wage)
        for part in rb._chunks(sorted(numbers)):
            for row in db.execute(select(*cols).where(Employment.contract_no.in_(part))):
                found[row.contract_no] = dict(row._mapping)
        return found

    def workers(db, hashes):
        found = {}
        for part in rb._chunks(sorted(hashes)):
            stmt = select(Worker.iin_hash, Worker.id).where(Worker.iin_hash.in_(part))
            found.update(dict(db.execute(stmt).tuples().all()))
        return found

    def allocate(db, n):
        if db.get_bind().dialect.name != "postgresql":
            return []
        stmt = text("SELECT nextval(pg_get_serial_sequence('worker', 'id')) "
                    "FROM generate_series(1, :n)")
        return list(db.scalars(stmt, {"n": n}))

    saved = rb._contracts, rb._workers, rb._allocate_ids, ib.valid_iins
    rb._contracts, rb._workers, rb._allocate_ids = contracts, workers, allocate
    ib.valid_iins = lambda values: np.zeros(len(values), bool)  # every IIN row by row
    try:
        yield
    finally:
        rb._contracts, rb._workers, rb._allocate_ids, ib.valid_iins = saved


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


def _bulk(rows: int, iins: list[str], bins: list[str]) -> tuple[float, float]:
    """Apply `rows` hires in deliveries; (total seconds, seconds of the first delivery)."""
    from qorgau.core.db import get_sessionmaker
    from qorgau.core.roles import Role
    from qorgau.core.security import Actor
    from qorgau.integration.service import apply_rows

    actor = Actor(kind="system", id=None, name="bench", role=Role.SYSTEM,
                  feed="employment-contracts")
    now = datetime.now(UTC).isoformat()
    started, first = time.perf_counter(), 0.0
    for lo in range(0, rows, DELIVERY):
        hi = min(rows, lo + DELIVERY)
        batch = [_hire(i, iins[i % len(iins)], bins[i % len(bins)], now) for i in range(lo, hi)]
        t0 = time.perf_counter()
        with get_sessionmaker()() as db:
            out = apply_rows(db=db, actor=actor, feed="employment-contracts",
                             delivery_id=f"bench-{lo}", rows=batch)
        assert out.status == "applied", out.errors[:3]
        took = time.perf_counter() - t0
        first = first or took
        print(f"  rows {lo:>9,}–{hi:>9,}: {took:6.1f} s", flush=True)
    return time.perf_counter() - started, first


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
    ap.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = ap.parse_args()
    db_name = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}[args.db]
    bins = _bins(ENTERPRISES)
    iins = _iins(args.rows + args.sample)
    first_n = min(args.rows, DELIVERY)
    print(f"{len(iins):,} distinct IINs, {len(bins):,} enterprises; bulk {args.rows:,} hires")
    with _fresh(args.db, bins), _previous():
        print("previous path, first delivery:")
        _, prev_first = _bulk(first_n, iins, bins)
    with _fresh(args.db, bins):
        print("current path:")
        bulk, first = _bulk(args.rows, iins, bins)
        rbr = _row_by_row(args.sample, iins, bins)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    rate, base = args.rows / bulk, args.sample / rbr
    print(f"bulk: {bulk:.1f} s for {args.rows:,} rows; row-by-row: {rbr:.1f} s for "
          f"{args.sample:,} → {args.rows / base / 60:.0f} min for {args.rows:,} (extrapolated)")
    report(f"bulk employment deltas, first delivery of {first_n:,} into an empty {db_name}",
           first_n / first, "rows/s", first_n / prev_first,
           f"rows/s previous path; load {load}")
    report(f"bulk employment deltas into {db_name} ({args.rows:,} hires, {bulk:.0f} s)",
           rate, "rows/s", base, "rows/s row-by-row service calls")


if __name__ == "__main__":
    main()
