"""National twin into a fresh PostgreSQL: generate + load wall time and peak memory.

Baseline, measured in the same run: row-by-row INSERT (one statement per row, one commit) of
a 20,000-contract sample, extrapolated to the national row count.
Prints the time of each phase (generate, COPY per table, index/constraint rebuild, truth) and
the machine's load average (`/proc/loadavg`) before and after: on a shared machine the same run
can take several times longer, so read every figure next to its load.
Run: .venv/bin/python benchmarks/simulate_national.py [--scale national] [--seed 1]
"""

from __future__ import annotations

import argparse
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from qorgau.core.db import make_engine
from qorgau.core.migrate import upgrade
from qorgau.simulator.load import TABLES, load_twin, row_chunks
from qorgau.simulator.service import simulate
from qorgau.simulator.twin import Twin, make_twin

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SAMPLE = 20_000
sys.path.insert(0, str(Path(__file__).resolve().parent))


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"qorgau_sim_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def row_by_row_rate(twin: Twin) -> float:
    """Rows/s of one INSERT per row: enterprises/workers COPYed first, then SAMPLE contracts."""
    with fresh_database() as url:
        engine = make_engine(url)
        contracts = twin.contracts
        twin.contracts = {k: v[:0] for k, v in contracts.items()}
        load_twin(engine, twin)  # parents of the sample (not timed)
        twin.contracts = {k: v[:SAMPLE] for k, v in contracts.items()}
        df = next(row_chunks(twin, "employment", dict.fromkeys(TABLES, 0)))
        twin.contracts = contracts
        sql = (f"INSERT INTO employment ({', '.join(df.columns)}) "
               f"VALUES ({', '.join(['%s'] * df.width)})")  # fmt: skip
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            start = time.perf_counter()
            for row in df.iter_rows():
                cur.execute(sql, row)
            raw.commit()
            seconds = time.perf_counter() - start
        finally:
            raw.close()
            engine.dispose()
    return df.height / seconds


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="national")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rate = row_by_row_rate(make_twin(args.seed, "small"))
    print(f"row-by-row INSERT: {rate:,.0f} rows/s", flush=True)
    marks: dict[str, float] = {}
    before = load_average()
    print(f"load average before: {before}", flush=True)

    def progress(task: str, done: int, total: int) -> None:
        if done == total:
            now = time.perf_counter()
            took = now - max(marks.values(), default=start)
            marks[task] = now
            print(f"  {task}: {total:,} in {took:.1f} s (at {now - start:.1f} s; "
                  f"load {load_average()})", flush=True)  # fmt: skip

    with fresh_database() as url, tempfile.TemporaryDirectory() as truth:
        start = time.perf_counter()
        summary = simulate(engine_or_url=url, seed=args.seed, scale=args.scale,
                           progress=progress, truth_base=Path(truth))  # fmt: skip
        seconds = time.perf_counter() - start
    rows = sum(summary.counts.values())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"counts: {summary.counts}; generate {summary.generate_seconds:.1f} s, "
          f"load {summary.load_seconds:.1f} s", flush=True)  # fmt: skip
    try:
        from _common import report
    except ImportError:  # another engineer's helper; fall back to a plain dated line
        report = None
    load = f"load avg {before} → {load_average()}"
    print(load, flush=True)
    figure = f"simulate {args.scale} into PostgreSQL ({rows:,} rows, generate + load; {load})"
    if report is not None:
        report(figure, round(seconds, 1), "s", round(rows / rate), "s row-by-row (extrapolated)")
        report(f"simulate {args.scale} peak memory (RSS)", round(peak_gb, 2), "GB", 4, "GB budget")
    else:
        print(f"{figure}: {seconds:.1f} s (baseline: {rows / rate:.0f} s, "
              f"ratio ×{seconds * rate / rows:.3g}); peak RSS {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
