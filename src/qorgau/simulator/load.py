"""Bulk loading of a twin into the registry tables (enterprise, site, worker, employment).

PostgreSQL: psycopg 3 `COPY … FROM STDIN (FORMAT csv)`, rows rendered per chunk by polars; the
load's `created_at`/`created_by` come from column defaults set for this transaction only (the
server evaluates a constant instead of parsing a timestamp per row); on an empty registry
indexes and constraints are rebuilt after COPY; sequences are moved past the loaded ids and
the tables are ANALYZEd, all in one transaction.
SQLite: `executemany` in one transaction. For the duration of that load only, the connection
runs with `PRAGMA synchronous=OFF` (a power cut mid-load loses the load, never earlier data
— the generator can simply be re-run); it is set back to FULL before the connection returns
to the pool.
Reference rows (region, activity, risk_class) must already exist (Alembic data migration).
"""

from __future__ import annotations

import hmac
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Engine, text

from qorgau.core.config import get_settings
from qorgau.simulator.headcount import headcount_changes
from qorgau.simulator.ids import digits_series
from qorgau.simulator.twin import Table, Twin

Progress = Callable[[str, int, int], None]
CHUNK_ROWS = 100_000
PG_STAMP = "%Y-%m-%d %H:%M:%S%z"
TABLES = ("enterprise", "site", "worker", "employment")  # foreign-key order
MODES = ("empty", "append", "replace")


class RegistryNotEmpty(RuntimeError):
    """The registry already holds enterprises and neither append nor replace was asked."""


def iin_hasher() -> Callable[[str], str]:
    """Same result as `core.security.iin_hash`, with the keyed HMAC state built once."""
    key = get_settings().iin_pepper.get_secret_value().encode()

    def digest(iin: str) -> str:
        return hmac.digest(key, iin.encode(), "sha256").hex()  # one-shot C HMAC

    return digest


def _stamp(df: pl.DataFrame, now: datetime) -> pl.DataFrame:
    return df.with_columns(pl.lit(now).alias("created_at"), pl.lit("simulator").alias("created_by"))


def _days(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.int32)).cast(pl.Date)


def _enterprise_rows(t: Table, sl: slice, off: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({
        "id": t["id"][sl] + off["enterprise"], "bin": digits_series(t["bin"][sl]),
        "name": _text(t["name"][sl]), "activity_code": t["activity_code"][sl],
        "section": t["section"][sl], "region_code": t["region_code"][sl],
        "address": _text(t["address"][sl]), "lon": t["lon"][sl], "lat": t["lat"][sl],
        "size_band": t["size_band"][sl], "hazardous": t["hazardous"][sl],
        "revision": np.ones(len(t["id"][sl]), dtype=np.int64),
    })  # fmt: skip


def _site_rows(t: Table, sl: slice, off: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({
        "id": t["id"][sl] + off["site"],
        "enterprise_id": t["enterprise_id"][sl] + off["enterprise"],
        "region_code": t["region_code"][sl], "kind": t["kind"][sl], "name": _text(t["name"][sl]),
        "lon": t["lon"][sl], "lat": t["lat"][sl], "zones": _text(t["zones"][sl]),
    })  # fmt: skip


def _text(values: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.String)


def _worker_rows(t: Table, sl: slice, off: dict[str, int]) -> pl.DataFrame:
    iins = digits_series(t["iin"][sl])
    digest = iin_hasher()
    employer = t["enterprise_id"][sl]
    return pl.DataFrame({
        "id": t["id"][sl] + off["worker"],
        "iin_hash": pl.Series([digest(i) for i in iins.to_list()], dtype=pl.String),
        "iin_masked": ("•" * 8) + iins.str.slice(8), "last_name": _text(t["last_name"][sl]),
        "first_name": _text(t["first_name"][sl]), "patronymic": _text(t["patronymic"][sl]),
        "birth_date": _days(t["birth_days"][sl]), "sex": _text(t["sex"][sl]),
        "enterprise_id": pl.Series(employer + off["enterprise"]).set(
            pl.Series(employer == 0), None),
        "region_code": _text(t["region_code"][sl]).replace("", None),
    })  # fmt: skip


def _employment_rows(t: Table, sl: slice, off: dict[str, int]) -> pl.DataFrame:
    ids = t["id"][sl] + off["employment"]
    end = t["end_days"][sl]
    return pl.DataFrame({
        "id": ids,
        "contract_no": "ЭТД-" + pl.Series(ids).cast(pl.String).str.zfill(10),
        "worker_id": t["worker_id"][sl] + off["worker"],
        "enterprise_id": t["enterprise_id"][sl] + off["enterprise"],
        "region_code": t["region_code"][sl], "section": t["section"][sl],
        "occupation": _text(t["occupation"][sl]), "start_date": _days(t["start_days"][sl]),
        "end_date": _days(end).set(pl.Series(end < 0), None), "monthly_wage": t["monthly_wage"][sl],
    })  # fmt: skip


ROWS: dict[str, Callable[[Table, slice, dict[str, int]], pl.DataFrame]] = {
    "enterprise": _enterprise_rows, "site": _site_rows, "worker": _worker_rows,
    "employment": _employment_rows,
}  # fmt: skip


def _source(twin: Twin, table: str) -> Table:
    return {"enterprise": twin.enterprises, "site": twin.sites, "worker": twin.workers,
            "employment": twin.contracts}[table]  # fmt: skip


def row_chunks(
    twin: Twin, table: str, off: dict[str, int], *, stamp: bool = True
) -> Iterator[pl.DataFrame]:
    """The table's rows as DataFrames of CHUNK_ROWS, rendered only when needed (memory).
    stamp=False leaves out created_at/created_by (PostgreSQL fills them from defaults)."""
    src = _source(twin, table)
    total = len(src["id"])
    now = datetime.now(UTC)
    for lo in range(0, total, CHUNK_ROWS):
        df = ROWS[table](src, slice(lo, min(lo + CHUNK_ROWS, total)), off)
        yield _stamp(df, now) if stamp else df


def _offsets(conn: Any, mode: str) -> dict[str, int]:
    """Id offsets so appended rows follow existing ones; refuses a non-empty registry."""
    count = conn.execute(text("SELECT count(*) FROM enterprise")).scalar_one()
    if count and mode == "empty":
        raise RegistryNotEmpty(
            f"the registry already holds {count} enterprises; "
            "use append (add another seed) or replace (delete the simulated registry first)"
        )
    if mode == "replace":
        for table in reversed(TABLES):
            # B608 here and below: TABLES is a module constant, never input
            conn.execute(text(f"DELETE FROM {table}"))  # nosec B608
    return {
        t: conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one()  # nosec B608
        for t in TABLES
    }


def _report(progress: Progress | None, task: str, done: int, total: int) -> None:
    if progress is not None:
        progress(task, done, total)


_TABLE_OIDS = "ARRAY['enterprise', 'site', 'worker', 'employment']::regclass[]"


def _suspend_pg_constraints(cur: Any) -> list[str]:
    """Drop primary keys, unique constraints, secondary indexes and foreign keys of the four
    (empty) tables, and other tables' foreign keys to them, as pg_restore does: one index
    build after COPY beats millions of index updates (the primary key alone doubled the
    server's COPY time of employment). Returns the statements that recreate them exactly
    (same names, definitions); it all runs in the load's transaction, so a failure rolls the
    schema back too."""
    # B608: _TABLE_OIDS and TABLES below are module constants, never input
    cur.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "  # nosec B608
        f"FROM pg_constraint WHERE (conrelid = ANY({_TABLE_OIDS}) "
        f"OR confrelid = ANY({_TABLE_OIDS})) AND contype IN ('f', 'u', 'p') "
        "ORDER BY contype = 'f' DESC"
    )
    constraints = cur.fetchall()
    cur.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "  # nosec B608
        "JOIN pg_class i ON i.oid = x.indexrelid "
        f"WHERE x.indrelid = ANY({_TABLE_OIDS}) AND NOT x.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
    )
    indexes = cur.fetchall()
    for table, name, _, _ in constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    restore = [definition for _, definition in indexes]
    restore += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, _ in reversed(constraints)]
    return restore


# The registry's trigger-maintained headcount (migration 0005_registry_headcount): its insert
# trigger is disabled during COPY and the loaded contracts' rows are added once, computed on
# the client (simulator/headcount.py) while the server runs COPY. With the trigger on, the
# server spools every new contract into the trigger's transition table and then runs a grouped
# upsert over all of them (region scale: 11 s of a 34 s load).
HEADCOUNT_TRIGGER = "employment_headcount_ins"
HEADCOUNT_KEY = "grain, starts_on, region_code, section"


def _headcount_trigger(cur: Any) -> bool:
    """True when the registry's headcount trigger exists and fires (then the load owns it)."""
    cur.execute(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = 'employment'::regclass "
        "AND tgname = %s AND tgenabled <> 'D'",
        (HEADCOUNT_TRIGGER,),
    )
    return cur.fetchone() is not None


def _copy_pg(cur: Any, twin: Twin, off: dict[str, int], progress: Progress | None) -> None:
    restore = _suspend_pg_constraints(cur) if not any(off.values()) else []
    restore += _stamp_defaults(cur, datetime.now(UTC))
    with ThreadPoolExecutor(1) as pool:
        changes = pool.submit(headcount_changes, twin) if _headcount_trigger(cur) else None
        if changes is not None:  # transactional like the rest: a failed load leaves it on
            cur.execute(f"ALTER TABLE employment DISABLE TRIGGER {HEADCOUNT_TRIGGER}")
        _copy_tables(cur, twin, off, progress)
        if changes is not None:
            cur.execute(f"ALTER TABLE employment ENABLE TRIGGER {HEADCOUNT_TRIGGER}")
            _add_headcount(cur, changes.result(), progress)
    # Index builds and foreign-key checks sort and hash in memory instead of spilling to
    # temporary files (this transaction only); fresh statistics let the foreign-key checks
    # plan a hash or merge join on real row counts.
    cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
    cur.execute("SET LOCAL work_mem = '256MB'")
    cur.execute(f"ANALYZE {', '.join(TABLES)}")
    for i, statement in enumerate(restore):
        _report(progress, "index", i, len(restore))
        cur.execute(statement)
    _report(progress, "index", len(restore), len(restore))


def _add_headcount(cur: Any, rows: pl.DataFrame, progress: Progress | None) -> None:
    """Add the loaded contracts' headcount changes: COPY straight into an empty
    headcount_change, else through a temporary table and the trigger's own upsert."""
    _report(progress, "headcount", 0, rows.height)
    cur.execute("SELECT EXISTS (SELECT 1 FROM headcount_change)")
    merge = cur.fetchone()[0]
    if merge:
        cur.execute("CREATE TEMP TABLE headcount_load (LIKE headcount_change) ON COMMIT DROP")
    target = "headcount_load" if merge else "headcount_change"
    with cur.copy(f"COPY {target} ({', '.join(rows.columns)}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(rows.write_csv(include_header=False))
    if merge:  # key order, as the trigger does, so concurrent writers lock rows alike
        key = HEADCOUNT_KEY  # a module constant, not input
        upsert = "INSERT INTO headcount_change SELECT * FROM headcount_load ORDER BY {k} ON CONFLICT ({k}) DO UPDATE SET delta = headcount_change.delta + EXCLUDED.delta"  # noqa: E501
        cur.execute(upsert.format(k=key))
    _report(progress, "headcount", rows.height, rows.height)


def _stamp_defaults(cur: Any, now: datetime) -> list[str]:
    """Constant defaults for created_at/created_by during the load: COPY then omits both
    columns, saving a timestamptz parse per row. Returns the statements that put the
    previous defaults (normally none) back."""
    restore = []
    for table in TABLES:
        cur.execute(
            "SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = %s::regclass AND a.attname IN ('created_at', 'created_by')",
            (table,),
        )
        for column, previous in cur.fetchall():
            value = now.isoformat() if column == "created_at" else "simulator"
            cur.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT '{value}'")
            restore.append(
                f"ALTER TABLE {table} ALTER COLUMN {column} "
                + (f"SET DEFAULT {previous}" if previous is not None else "DROP DEFAULT")
            )
    return restore


def _copy_tables(cur: Any, twin: Twin, off: dict[str, int], progress: Progress | None) -> None:
    for table in TABLES:
        total, done = len(_source(twin, table)["id"]), 0
        _report(progress, f"load {table}", 0, total)
        chunks = row_chunks(twin, table, off, stamp=False)
        first = next(chunks, None)
        if first is None:
            continue
        cols = ", ".join(first.columns)
        # The queued writer sends from a thread, so the next chunk renders while the
        # server parses this one.
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT csv)",
                      writer=QueuedLibpqWriter(cur)) as copy:  # fmt: skip
            for df in itertools.chain([first], chunks):
                copy.write(df.write_csv(include_header=False, datetime_format=PG_STAMP))
                done += df.height
                if done < total:  # the last report waits for the server (below)
                    _report(progress, f"load {table}", done, total)
        _report(progress, f"load {table}", total, total)


def _insert_sqlite(cur: Any, twin: Twin, off: dict[str, int], progress: Progress | None) -> None:
    for table in TABLES:
        total, done = len(_source(twin, table)["id"]), 0
        _report(progress, f"load {table}", 0, total)
        for df in row_chunks(twin, table, off):
            df = df.with_columns(
                pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
                pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
                pl.col(pl.Boolean).cast(pl.Int8),
            )
            marks = ", ".join("?" * df.width)
            # B608: our own table and frame columns; the values are bound parameters
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(df.columns)}) VALUES ({marks})",  # nosec B608
                df.iter_rows(),
            )
            done += df.height
            _report(progress, f"load {table}", done, total)


def load_twin(
    engine: Engine, twin: Twin, *, mode: str = "empty", progress: Progress | None = None
) -> dict[str, int]:
    """Load every table in one transaction; returns rows loaded per table."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    with engine.begin() as conn:
        off = _offsets(conn, mode)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            _copy_pg(cur, twin, off, progress)
            _finish_pg(cur)
        else:
            cur.execute("PRAGMA synchronous=OFF")
            _insert_sqlite(cur, twin, off, progress)
        raw.commit()
    except BaseException:
        raw.rollback()
        raise
    finally:
        if engine.dialect.name == "sqlite":
            raw.cursor().execute("PRAGMA synchronous=FULL")  # outside the transaction
        raw.close()
    return {t: len(_source(twin, t)["id"]) for t in TABLES}


def _finish_pg(cur: Any) -> None:
    """Explicit ids were loaded: move each id sequence past them."""
    for table in TABLES:
        cur.execute(  # B608: TABLES is a module constant
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # nosec B608
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )
