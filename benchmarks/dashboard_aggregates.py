"""Injury dashboard aggregates on PostgreSQL: p95 of each aggregate the dashboard runs, against a
baseline measured in the same run: for the denominators and the month trend the previous
implementation (headcount counted over every contract; months grouped on year * 100 + month in
SQL), for the others a naive version (fetch the rows, aggregate in Python). Also the write cost
of the headcount triggers: single-contract INSERTs with the triggers against the same INSERTs
with the triggers disabled.

Data: a scratch database migrated to all heads, N enterprises, W workers with one contract each
(the denominator table), and 10 years of accidents at the national rate (~2,300 victims a year,
~10 % fatal) generated in SQL. Targets (issue 4): each aggregate p95 < 200 ms, YoY < 100 ms.

Run: .venv/bin/python benchmarks/dashboard_aggregates.py [--workers 2000000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks._common import report  # noqa: E402

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
REGIONS = [
    "KZ-10",
    "KZ-11",
    "KZ-15",
    "KZ-19",
    "KZ-23",
    "KZ-27",
    "KZ-31",
    "KZ-33",
    "KZ-35",
    "KZ-39",
    "KZ-43",
    "KZ-47",
    "KZ-55",
    "KZ-59",
    "KZ-61",
    "KZ-62",
    "KZ-63",
    "KZ-71",
    "KZ-75",
    "KZ-79",
]


def load(url: str, enterprises: int, workers: int, victims_per_year: int, today: date) -> None:
    conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    regions = "ARRAY[" + ",".join(f"'{r}'" for r in REGIONS) + "]"
    conn.execute(f"""
        INSERT INTO enterprise (id, bin, name, activity_code, section, region_code, address,
            lon, lat, size_band, hazardous, revision, created_at, created_by)
        SELECT i, lpad(i::text, 12, '0'), 'Enterprise ' || i,
            (ARRAY['B','C','C','F','H','A','Q'])[1 + i % 7],
            (ARRAY['B','C','C','F','H','A','Q'])[1 + i % 7],
            ({regions})[1 + (i * 7) % 20], '', 70, 48, 'medium', false, 1, now(), 'bench'
        FROM generate_series(1, {enterprises}) i""")
    conn.execute(f"""
        INSERT INTO worker (id, iin_hash, iin_masked, last_name, first_name, patronymic,
            birth_date, sex, enterprise_id, region_code, created_at, created_by)
        SELECT i, md5(i::text), '****', 'W', 'W', '', DATE '1980-01-01', 'M',
            1 + i % {enterprises}, NULL, now(), 'bench'
        FROM generate_series(1, {workers}) i""")
    conn.execute(f"""
        INSERT INTO employment (id, contract_no, worker_id, enterprise_id, region_code, section,
            occupation, start_date, end_date, monthly_wage, created_at, created_by)
        SELECT w.id, 'C' || w.id, w.id, e.id, e.region_code, e.section, 'x',
            DATE '{today.year - 12}-01-01' + (w.id % 4000),
            CASE WHEN w.id % 5 = 0 THEN DATE '{today.year - 12}-01-01' + (w.id % 4000) + 900
            END, 0, now(), 'bench'
        FROM worker w JOIN enterprise e ON e.id = w.enterprise_id""")
    n = victims_per_year * 10
    start = date(today.year - 9, 1, 1)
    conn.execute(f"""
        INSERT INTO accident (id, enterprise_id, region_code, section, occurred_at, reported_at,
            severity, circumstances, cause_code, victims_count, fatalities, late_report, flags,
            state, revision, created_at, created_by)
        SELECT i, e.id, e.region_code, e.section,
            TIMESTAMPTZ '{start}'
                + (random() * (DATE '{today}' - DATE '{start}')) * INTERVAL '1 day',
            now(), CASE WHEN random() < 0.1 THEN 'fatal' WHEN random() < 0.3 THEN 'severe'
                        ELSE 'minor' END,
            'bench', 'C' || lpad((1 + i % 12)::text, 2, '0'), 1, 0, random() < 0.08, '[]',
            'registered', 1, now(), 'bench'
        FROM generate_series(1, {n}) i
        JOIN enterprise e ON e.id = 1 + (i * 31) % {enterprises}""")
    conn.execute("""
        INSERT INTO accident_victim (accident_id, enterprise_id, region_code, section,
            occurred_on, severity, cause_code, full_name, employed_here)
        SELECT id, enterprise_id, region_code, section,
            (occurred_at AT TIME ZONE 'Asia/Almaty')::date, severity, cause_code, 'V', true
        FROM accident""")
    conn.execute("VACUUM ANALYZE")  # visibility map: lets counts use index-only scans
    conn.close()


def p95(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches and the connection pool
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--enterprises", type=int, default=20_000)
    ap.add_argument("--workers", type=int, default=2_000_000)
    ap.add_argument("--victims-per-year", type=int, default=2_300)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = ap.parse_args()

    name = f"qorgau_bench_{secrets.token_hex(3)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    os.environ["QORGAU_DATABASE_URL"] = url
    try:
        run(url, args)
    finally:
        from qorgau.core.db import reset_engine

        reset_engine()
        if args.keep:
            print(f"kept database {name}")
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args: argparse.Namespace) -> None:
    from sqlalchemy import Integer, cast, distinct, extract, func, select

    from qorgau.core.db import get_sessionmaker
    from qorgau.core.migrate import upgrade
    from qorgau.core.roles import Role
    from qorgau.core.security import Actor
    from qorgau.incidents.models import Victim
    from qorgau.indicators import service
    from qorgau.registry import headcount
    from qorgau.registry import service as registry

    today = date.today()
    upgrade(url)
    t = time.perf_counter()
    load(url, args.enterprises, args.workers, args.victims_per_year, today)
    print(
        f"loaded {args.workers:,} contracts and 10 years of accidents "
        f"in {time.perf_counter() - t:.1f} s"
    )
    analyst = Actor(kind="user", id=1, name="bench", role=Role.MINISTRY_ANALYST)
    f = service.Filters(date(today.year, 1, 1), today)
    f10 = service.Filters(date(today.year - 9, 1, 1), today)
    db = get_sessionmaker()()

    def naive_group(filters: service.Filters, key: str) -> Counter[object]:
        rows = db.execute(
            select(getattr(Victim, key), Victim.severity).where(
                Victim.occurred_on.between(filters.start, filters.end)
            )
        ).all()
        return Counter(r[0] for r in rows)

    def before_headcount(actor: Actor = analyst) -> object:
        return headcount.direct(db=db, actor=actor, on=f.midpoint, group_by="region")

    def before_table() -> object:
        registry.headcount_in_force = headcount.direct  # the denominator as it was counted
        try:
            return service.table(db=db, actor=analyst, f=f, by="region")
        finally:
            registry.headcount_in_force = headcount.in_force

    def before_month() -> object:
        V = Victim
        key = cast(extract("year", V.occurred_on) * 100 + extract("month", V.occurred_on), Integer)
        stmt = select(key, func.count(V.id), service.FATAL, func.count(distinct(V.accident_id)))
        stmt = stmt.where(V.occurred_on.between(f10.start, f10.end)).group_by(key).order_by(key)
        return db.execute(stmt).all()

    inspector = Actor(kind="user", id=2, name="bench", role=Role.LABOUR_INSPECTOR, region="KZ-35")
    assert service.grouped(db=db, actor=analyst, f=f10, by="month") == [
        tuple(int(x) for x in r) for r in before_month()
    ]
    assert headcount.in_force(db=db, actor=analyst, on=f.midpoint, group_by="region") == (
        before_headcount()
    )

    def naive_yoy() -> tuple[int, int]:
        a, b, c, d = service.same_period_dates(today)
        rows = db.scalars(select(Victim.occurred_on)).all()
        return (sum(a <= x <= b for x in rows), sum(c <= x <= d for x in rows))

    cases: list[tuple[str, Callable[[], object], Callable[[], object], float]] = [
        (
            "totals year to date",
            lambda: service.totals(db=db, actor=analyst, f=f),
            lambda: sum(naive_group(f, "region_code").values()),
            200,
        ),
        (
            "victims by region, 10 years",
            lambda: service.grouped(db=db, actor=analyst, f=f10, by="region"),
            lambda: naive_group(f10, "region_code"),
            200,
        ),
        (
            "victims by cause, 10 years",
            lambda: service.grouped(db=db, actor=analyst, f=f10, by="cause"),
            lambda: naive_group(f10, "cause_code"),
            200,
        ),
        (
            "victims by month, 10 years (baseline: grouped on year*100+month)",
            lambda: service.grouped(db=db, actor=analyst, f=f10, by="month"),
            before_month,
            200,
        ),
        (
            "headcount by region, pre-aggregated (baseline: counted over contracts)",
            lambda: service.headcounts(db=db, actor=analyst, f=f, by="region"),
            before_headcount,
            200,
        ),
        (
            "headcount, one region's inspector, pre-aggregated (baseline: counted over contracts)",
            lambda: service.headcounts(db=db, actor=inspector, f=f, by="region"),
            lambda: before_headcount(inspector),
            200,
        ),
        (
            "same-period YoY",
            lambda: service.year_on_year(db=db, actor=analyst, on=today),
            naive_yoy,
            100,
        ),
        (
            "dashboard table by region (baseline: same with denominators counted over contracts)",
            lambda: service.table(db=db, actor=analyst, f=f, by="region"),
            before_table,
            200,
        ),
    ]
    naive_cases = {"totals year to date", "victims by region, 10 years",
                   "victims by cause, 10 years", "same-period YoY"}  # fmt: skip
    for label, fast, base_fn, target in cases:
        ours = p95(fast, args.repeat)
        naive = label in naive_cases
        base = p95(base_fn, max(5, args.repeat // 6) if naive else args.repeat)
        flag = "OK" if ours < target else f"OVER {target} ms"
        unit = "ms naive" if naive else "ms before"
        report(f"{label} p95 ({args.workers:,} contracts) [{flag}]", ours, "ms", base, unit)
    db.close()  # ALTER TABLE below needs no open transaction on employment
    report(
        f"hire 500 contracts, one INSERT each, with headcount triggers ({args.workers:,})",
        *trigger_cost(url, 500),
        "ms without triggers",
    )


def trigger_cost(url: str, n: int) -> tuple[float, str, float]:
    """Wall time of n single-row contract INSERTs (autocommit) with and without the triggers."""
    conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    base = conn.execute("SELECT max(id) FROM employment").fetchone()[0]  # type: ignore[index]
    sql = (
        "INSERT INTO employment (id, contract_no, worker_id, enterprise_id, region_code, section,"
        " occupation, start_date, end_date, monthly_wage, created_at, created_by) VALUES (%s,"
        " %s, 1, 1, 'KZ-35', 'B', 'x', CURRENT_DATE - %s, NULL, 0, now(), 'bench')"
    )
    times = []
    for enabled in (True, False):
        if not enabled:
            conn.execute("ALTER TABLE employment DISABLE TRIGGER USER")
        t = time.perf_counter()
        for i in range(n):
            base += 1
            conn.execute(sql, (base, f"T{base}", i % 400))
        times.append((time.perf_counter() - t) * 1000)
    conn.execute("ALTER TABLE employment ENABLE TRIGGER USER")
    conn.close()
    return times[0], "ms", times[1]


if __name__ == "__main__":
    main()
