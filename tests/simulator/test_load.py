"""Loading the small twin into fresh SQLite and PostgreSQL databases."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
import pytest
from sqlalchemy import Engine, func, insert, select, text

from qorgau.core.db import make_engine
from qorgau.core.migrate import upgrade
from qorgau.core.security import iin_hash, mask_iin
from qorgau.registry import refdata
from qorgau.registry.models import Activity, Employment, Enterprise, Region, Site, Worker
from qorgau.simulator.ids import as_text
from qorgau.simulator.service import RegistryNotEmpty, simulate
from qorgau.simulator.twin import make_twin

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _ensure_reference_rows(engine: Engine) -> None:
    """The reference-data migration normally inserts these; fill them if it did not."""
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(Region)).scalar_one():
            return
        conn.execute(insert(Region), [
            {"iso": r.iso, "kind": r.type, "name_kk": r.name_kk, "name_ru": r.name_ru,
             "name_en": r.name_en, "lon": r.centroid[0], "lat": r.centroid[1]}
            for r in refdata.load_regions()
        ])  # fmt: skip
        conn.execute(insert(Activity), [
            {"code": e.code, "level": e.level, "section": e.section, "name_kk": e.name_kk,
             "name_ru": e.name_ru, "name_en": e.name_en, "risk_class": None}
            for e in refdata.load_oked()
        ])  # fmt: skip


def _migrated(url: str) -> Engine:
    upgrade(url)
    engine = make_engine(url)
    _ensure_reference_rows(engine)
    return engine


def _check_loaded(engine: Engine, truth_base: Path) -> None:
    twin = make_twin(11, "small")
    with engine.connect() as conn:
        def count(model: type) -> int:
            return conn.execute(select(func.count()).select_from(model)).scalar_one()

        assert count(Enterprise) == len(twin.enterprises["id"])
        assert count(Site) == len(twin.sites["id"])
        assert count(Worker) == len(twin.workers["id"])
        assert count(Employment) == len(twin.contracts["id"])
        bins = conn.execute(select(Enterprise.bin).order_by(Enterprise.id).limit(50)).scalars()
        assert list(bins) == as_text(twin.enterprises["bin"][:50]).tolist()
        row = conn.execute(select(Worker).where(Worker.id == 5)).one()
        iin = as_text(twin.workers["iin"][4:5])[0]
        assert row.iin_hash == iin_hash(iin) and row.iin_masked == mask_iin(iin)
        current = conn.execute(
            select(func.count()).select_from(Employment).where(Employment.end_date.is_(None))
        ).scalar_one()
        assert current == int(twin.enterprises["headcount"].sum())
        unemployed = conn.execute(
            select(func.count()).select_from(Worker).where(Worker.enterprise_id.is_(None))
        ).scalar_one()
        assert unemployed == int((twin.workers["enterprise_id"] == 0).sum())
    _check_headcount_aggregate(engine)
    truth = pl.read_parquet(truth_base / "truth" / "seed-11-small" / "enterprises.parquet")
    assert truth.height == len(twin.enterprises["id"])
    assert np.array_equal(truth["enterprise_id"].to_numpy(), twin.enterprises["id"])


def _check_headcount_aggregate(engine: Engine) -> None:
    """The bulk load (COPY / executemany) kept the trigger-maintained headcount in step."""
    from datetime import date

    from sqlalchemy.orm import Session

    from qorgau.core.roles import Role
    from qorgau.core.security import Actor
    from qorgau.registry import headcount

    analyst = Actor(kind="user", id=1, name="t", role=Role.MINISTRY_ANALYST)
    with Session(engine) as db:
        for on in (date.today(), date(date.today().year - 1, 6, 30)):
            agg = headcount.aggregated(db=db, actor=analyst, on=on, group_by="region")
            assert agg == headcount.direct(db=db, actor=analyst, on=on, group_by="region")
            assert agg[1] > 0


def test_small_loads_into_fresh_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sim.sqlite3'}"
    engine = _migrated(url)
    calls: list[tuple[str, int, int]] = []
    summary = simulate(engine_or_url=engine, seed=11, scale="small",
                       progress=lambda *a: calls.append(a), truth_base=tmp_path)  # fmt: skip
    assert summary.counts["enterprise"] == 2000 and summary.truth_dir.is_dir()
    assert ("load employment", summary.counts["employment"], summary.counts["employment"]) in calls
    _check_loaded(engine, tmp_path)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL again
    with pytest.raises(RegistryNotEmpty):
        simulate(engine_or_url=engine, seed=12, scale="small", truth_base=tmp_path)
    again = simulate(engine_or_url=engine, seed=11, scale="small", mode="replace",
                     truth_base=tmp_path)  # fmt: skip
    assert again.counts == summary.counts
    engine.dispose()


@pytest.fixture()
def pg_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL not reachable on 127.0.0.1:5432")
    name = f"qorgau_sim_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _schema_objects(engine: Engine) -> set[tuple[str, str]]:
    """Constraints of and foreign keys to the four tables, and their indexes (the load drops
    and recreates all of them)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE conrelid::regclass::text IN "
            "('enterprise', 'site', 'worker', 'employment') OR confrelid::regclass::text IN "
            "('enterprise', 'site', 'worker', 'employment') "
            "UNION SELECT tablename, indexdef FROM pg_indexes "
            "WHERE tablename IN ('enterprise', 'site', 'worker', 'employment')"
        ))  # fmt: skip
        return {(r[0], r[1]) for r in rows}


# The trigger's aggregation (migration 0005_registry_headcount) over the whole employment table:
# what headcount_change must hold after bulk loads that bypass the trigger.
HEADCOUNT_FROM_CONTRACTS = """
SELECT g.grain, g.starts_on, c.region_code, c.section, sum(c.delta)::int
FROM (
    SELECT region_code, section, day, sum(delta) AS delta FROM (
        SELECT region_code, section, start_date AS day, 1 AS delta FROM employment
        UNION ALL SELECT region_code, section, end_date + 1, -1 FROM employment
        WHERE end_date IS NOT NULL
    ) e GROUP BY region_code, section, day HAVING sum(delta) <> 0
) c
CROSS JOIN LATERAL (VALUES
    ('D', c.day),
    ('M', date_trunc('month', c.day::timestamp)::date),
    ('Y', date_trunc('year', c.day::timestamp)::date)) AS g(grain, starts_on)
GROUP BY 1, 2, 3, 4"""


def _check_headcount_rows(engine: Engine) -> None:
    """headcount_change row for row as the trigger would have written it, trigger on again."""
    with engine.connect() as conn:
        expected = set(conn.execute(text(HEADCOUNT_FROM_CONTRACTS)).tuples())
        stored = set(conn.execute(text(
            "SELECT grain, starts_on, region_code, section, delta FROM headcount_change "
            "WHERE delta <> 0 OR grain <> 'D'"
        )).tuples())  # fmt: skip
        assert len(expected) > 1000 and stored == expected
        enabled = conn.execute(text(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'employment_headcount_ins'"
        )).scalar_one()  # fmt: skip
        assert enabled == "O"


def test_small_loads_into_fresh_postgres(pg_url: str, tmp_path: Path) -> None:
    engine = _migrated(pg_url)
    before = _schema_objects(engine)
    summary = simulate(engine_or_url=pg_url, seed=11, scale="small", truth_base=tmp_path)
    assert summary.counts["employment"] > 50_000
    assert _schema_objects(engine) == before  # constraints and indexes restored
    _check_loaded(engine, tmp_path)
    with engine.begin() as conn:  # sequences moved past the loaded ids
        next_id = conn.execute(text("SELECT nextval(pg_get_serial_sequence('site', 'id'))"))
        assert next_id.scalar_one() == summary.counts["site"] + 1
    tables = "('enterprise', 'site', 'worker', 'employment')"
    with engine.connect() as conn:  # load-time stamp defaults gone, stamps and stats written
        leftover = conn.execute(text(
            f"SELECT count(*) FROM information_schema.columns WHERE table_name IN {tables} "
            "AND column_name IN ('created_at', 'created_by') AND column_default IS NOT NULL"
        )).scalar_one()  # fmt: skip
        assert leftover == 0
        stamps = conn.execute(text("SELECT DISTINCT created_by FROM employment")).scalars()
        assert list(stamps) == ["simulator"]
        analyzed = conn.execute(text(
            f"SELECT count(DISTINCT tablename) FROM pg_stats WHERE tablename IN {tables}"
        )).scalar_one()  # fmt: skip
        assert analyzed == 4
    _check_headcount_rows(engine)
    # replace: the DELETE's trigger leaves zero rows behind, so the load merges into them
    # (temporary table + the trigger's upsert) instead of COPYing into an empty aggregate
    simulate(engine_or_url=engine, seed=11, scale="small", mode="replace", truth_base=tmp_path)
    _check_headcount_rows(engine)
    _check_headcount_aggregate(engine)
    engine.dispose()
