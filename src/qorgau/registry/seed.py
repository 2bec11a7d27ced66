"""Load the shipped reference data (regions, OKED activities, risk classes) into the database.

Idempotent upsert by primary key, so a later migration can call it again after the data files
change; rows are never deleted (enterprises reference them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, select

from qorgau.registry import refdata
from qorgau.registry.models import Activity, Region, RiskClass


def _upsert(conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    existing = {r[0] for r in conn.execute(select(table.c[key]))}
    for row in rows:
        if row[key] in existing:
            conn.execute(table.update().where(table.c[key] == row[key]).values(**row))
        else:
            conn.execute(table.insert().values(**row))


def load_reference(conn: Connection) -> None:
    regions = [
        {
            "iso": r.iso,
            "kind": r.type,
            "name_kk": r.name_kk,
            "name_ru": r.name_ru,
            "name_en": r.name_en,
            "lon": r.centroid[0],
            "lat": r.centroid[1],
        }
        for r in refdata.load_regions()
    ]
    classes = [
        {
            "id": c.risk_class,
            "tariff_pct": c.tariff_pct,
            "source": c.source[:300],
            "illustrative": c.status != "official",
        }
        for c in refdata.load_risk_classes()
    ]
    activities = [
        {
            "code": a.code,
            "level": a.level,
            "section": a.section,
            "name_kk": a.name_kk,
            "name_ru": a.name_ru,
            "name_en": a.name_en,
            "risk_class": refdata.oked_risk_class(a.code).risk_class,
        }
        for a in refdata.load_oked()
    ]
    _upsert(conn, Region.__table__, "iso", regions)  # type: ignore[arg-type]
    _upsert(conn, RiskClass.__table__, "id", classes)  # type: ignore[arg-type]
    _upsert(conn, Activity.__table__, "code", activities)  # type: ignore[arg-type]
