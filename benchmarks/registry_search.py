"""Registry search over 500K enterprises: name fragment and BIN prefix, p95 on PostgreSQL
(pg_trgm GIN index) and SQLite (FTS5 trigram), each beside an unindexed LIKE scan.

Usage: python benchmarks/registry_search.py [--rows 500000] [--queries 200]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import report

from qorgau.core.identifiers import complete
from qorgau.core.migrate import upgrade

ROOTS = [
    "Қарағанды",
    "Алматы",
    "Астана",
    "Шымкент",
    "Ертіс",
    "Сарыарқа",
    "Болат",
    "Көмір",
    "Кен",
    "Мұнай",
    "Құрылыс",
    "Энерго",
    "Транс",
    "Агро",
    "Темір",
    "Дала",
    "Алтын",
    "Мыс",
    "Тау",
    "Сапа",
    "Нұр",
    "Жол",
    "Металл",
    "Строй",
    "Сервис",
    "Восток",
    "Степь",
    "Гранит",
]
FORMS = ["ТОО «{}»", "АО «{}»", "ЖШС «{}»", "ИП «{}»"]


def make_rows(n: int, seed: int = 7) -> list[tuple[object, ...]]:
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(ROOTS), n), rng.integers(0, len(ROOTS), n)
    forms, serials = rng.integers(0, len(FORMS), n), rng.permutation(n)
    rows, i = [], 0
    for k in range(n):
        while True:
            number = complete(f"{(i // 99999) % 90 + 10:02d}014{i % 99999:05d}0"[:11])
            i += 1
            if number:
                break
        name = FORMS[forms[k]].format(f"{ROOTS[a[k]]}{ROOTS[b[k]].lower()}-{serials[k]}")
        rows.append((number, name, "41", "F", "KZ-35", "", 73.0, 49.8, "small", False, 1, "bench"))
    return rows


INSERT = (
    "INSERT INTO enterprise (bin, name, activity_code, section, region_code, address, lon,"
    " lat, size_band, hazardous, revision, created_by, created_at) VALUES "
    "(:bin, :name, :activity_code, :section, :region_code, :address, :lon, :lat,"
    " :size_band, :hazardous, :revision, :created_by, CURRENT_TIMESTAMP)"
)
KEYS = [
    "bin",
    "name",
    "activity_code",
    "section",
    "region_code",
    "address",
    "lon",
    "lat",
    "size_band",
    "hazardous",
    "revision",
    "created_by",
]


def load(url: str, rows: list[tuple[object, ...]]) -> None:
    upgrade(url)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(INSERT), [dict(zip(KEYS, r, strict=True)) for r in rows])
        if url.startswith("postgresql"):
            conn.execute(text("ANALYZE enterprise"))
    engine.dispose()


def p95(fn: Callable[[str], object], queries: list[str]) -> float:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.quantiles(times, n=20)[18]


def bench(url: str, label: str, queries: list[str], bins: list[str]) -> None:
    import os

    from qorgau.core.config import get_settings
    from qorgau.core.db import get_sessionmaker, reset_engine
    from qorgau.core.pagination import PageParams
    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service

    os.environ["QORGAU_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()
    params = PageParams(page=1, size=25)
    with get_sessionmaker()() as db:

        def indexed(q: str) -> object:
            return service.list_enterprises(db=db, actor=SYSTEM_ACTOR, params=params, q=q)

        def naive(q: str) -> object:
            rows = db.execute(
                text("SELECT id FROM enterprise WHERE lower(name) LIKE :p ORDER BY name LIMIT 25"),
                {"p": f"%{q.lower()}%"},
            ).all()
            total = db.execute(
                text("SELECT count(*) FROM enterprise WHERE lower(name) LIKE :p"),
                {"p": f"%{q.lower()}%"},
            ).scalar()
            return rows, total

        indexed(queries[0])
        name_ms, naive_ms = p95(indexed, queries), p95(naive, queries[:40])
        bin_ms = p95(indexed, bins)
    report(f"{label} name search p95", name_ms, "ms", naive_ms, "ms unindexed LIKE scan")
    report(f"{label} BIN prefix search p95", bin_ms, "ms", naive_ms, "ms unindexed LIKE scan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    rng = np.random.default_rng(1)
    picks = rng.integers(0, len(rows), args.queries)
    queries = [str(rows[i][1]).split("«")[1][3:12] for i in picks]
    bins = [str(rows[i][0])[:9] for i in picks]
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/search.sqlite3"
        load(sqlite_url, rows)
        bench(sqlite_url, "SQLite FTS5", queries, bins)
    name = f"qorgau_bench_{secrets.token_hex(3)}"
    admin = "host=127.0.0.1 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        pg_url = f"postgresql+psycopg://postgres@127.0.0.1/{name}"
        load(pg_url, rows)
        bench(pg_url, "PostgreSQL trigram", queries, bins)
    finally:
        from qorgau.core.db import reset_engine

        reset_engine()
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
