"""The pipeline's input frames read in bulk from the tables: evidence, the employment register
(workers, contracts, enterprises, exposure) and the accident victims (through incidents.service).
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.concealment import signals
from qorgau.concealment.models import EvidenceRecord
from qorgau.core.security import SYSTEM_ACTOR

CHUNK_ROWS = 100_000


def _frame(db: Session, stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of a select as a frame, without a Python object per value where the driver
    allows: PostgreSQL streams COPY (…) TO STDOUT as CSV into polars (6.5 M workers, 7 M
    contracts nationally); other databases are fetched and converted in chunks."""
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        return _copy_frame(conn, stmt, schema)
    result = conn.execute(stmt)
    parts = []
    while rows := result.fetchmany(CHUNK_ROWS):
        parts.append(pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row"))
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def _copy_frame(conn: Any, stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
    compiled = stmt.compile(dialect=conn.dialect)
    buf = io.BytesIO()
    raw = conn.connection.driver_connection
    copy = f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv)"
    with raw.cursor() as cur, cur.copy(copy, compiled.params) as cp:
        for chunk in cp:
            buf.write(chunk)
    if not buf.tell():
        return pl.DataFrame(schema=schema)
    # PostgreSQL writes booleans as t/f: read them as text, then compare.
    text = {k: (pl.String if v == pl.Boolean else v) for k, v in schema.items()}
    df = pl.read_csv(
        buf.getvalue(), has_header=False, new_columns=list(schema), schema_overrides=text
    )
    flags = [k for k, v in schema.items() if v == pl.Boolean]
    return df.with_columns(pl.col(k) == "t" for k in flags)


def evidence_frame(db: Session, since: date) -> pl.DataFrame:
    E = EvidenceRecord
    stmt = select(
        E.id,
        E.source,
        E.source_ref,
        E.iin_hash,
        E.iin_valid,
        E.first_name,
        E.last_name,
        E.birth_date,
        E.enterprise_id,
        E.region_code,
        E.event_date,
        E.icd10,
        E.cause_code,
        E.work_related,
        E.fatal,
    ).where(E.event_date >= since)
    schema = {
        "id": pl.Int64,
        "source": pl.String,
        "source_ref": pl.String,
        "iin_hash": pl.String,
        "iin_valid": pl.Boolean,
        "first_name": pl.String,
        "last_name": pl.String,
        "birth_date": pl.Date,
        "enterprise_id": pl.Int64,
        "region_code": pl.String,
        "event_date": pl.Date,
        "icd10": pl.String,
        "cause_code": pl.String,
        "work_related": pl.Boolean,
        "fatal": pl.Boolean,
    }
    return _frame(db, stmt, schema)


def registry_frames(db: Session, since: date, as_of: date) -> dict[str, pl.DataFrame]:
    from qorgau.registry.models import Employment, Enterprise, Worker

    # Registry tables are read in bulk for linkage (the registry service has no frame export yet).
    workers = _frame(
        db,
        select(Worker.id, Worker.iin_hash, Worker.first_name, Worker.last_name, Worker.birth_date),
        {
            "worker_id": pl.Int64,
            "id_hash": pl.String,
            "first_name": pl.String,
            "last_name": pl.String,
            "birth_date": pl.Date,
        },
    )
    workers = signals.prepare_names(workers)
    contracts = _frame(
        db,
        select(
            Employment.worker_id,
            Employment.enterprise_id,
            Employment.region_code,
            Employment.section,
            Employment.start_date,
            Employment.end_date,
        ).where((Employment.end_date.is_(None)) | (Employment.end_date >= since)),
        {
            "worker_id": pl.Int64,
            "enterprise_id": pl.Int64,
            "region_code": pl.String,
            "section": pl.String,
            "start_date": pl.Date,
            "end_date": pl.Date,
        },
    )
    enterprises = _frame(
        db,
        select(Enterprise.id, Enterprise.activity_code, Enterprise.region_code),
        {"enterprise_id": pl.Int64, "activity_code": pl.String, "region_code": pl.String},
    )
    from qorgau.concealment.simulate import exposure_from_contracts

    return {
        "workers": workers,
        "contracts": contracts,
        "enterprises": enterprises,
        "exposure": exposure_from_contracts(contracts, since, as_of),
    }


def victims_frame(db: Session, since: date) -> pl.DataFrame:
    from qorgau.incidents import service as incidents

    V = incidents.VICTIM
    stmt = (
        select(
            V.accident_id,
            V.worker_id,
            V.iin_hash,
            V.full_name,
            V.birth_date,
            V.occurred_on,
            V.enterprise_id,
            V.region_code,
            V.section,
        )
        .where(incidents.victims_scope(SYSTEM_ACTOR))
        .where(V.occurred_on >= since)
    )
    df = _frame(
        db,
        stmt,
        {
            "accident_id": pl.Int64,
            "worker_id": pl.Int64,
            "iin_hash": pl.String,
            "full_name": pl.String,
            "birth_date": pl.Date,
            "event_date": pl.Date,
            "enterprise_id": pl.Int64,
            "region_code": pl.String,
            "section": pl.String,
        },
    )
    parts = [(n or "").split() for n in df["full_name"].to_list()]
    from qorgau.concealment.translit import normalize_many

    return df.with_columns(
        pl.Series("last_name", normalize_many([p[0] if p else "" for p in parts]), dtype=pl.String),
        pl.Series(
            "first_name",
            normalize_many([p[1] if len(p) > 1 else "" for p in parts]),
            dtype=pl.String,
        ),
    ).drop("full_name")
