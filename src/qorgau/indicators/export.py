"""Exports: the dashboard table as CSV / XLSX, an ILOSTAT-shaped SDG 8.8.1 file by economic
activity, and an ESAW-shaped case file (one row per victim, Phase III variables)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from qorgau.core.security import Actor
from qorgau.incidents import service as incidents
from qorgau.indicators.service import Filters, table

TABLE_COLUMNS = [
    "key",
    "label",
    "accidents",
    "injured",
    "fatal",
    "nonfatal",
    "headcount",
    "rate_per_1000",
    "rate_low",
    "rate_high",
    "fatal_per_100k",
    "fatal_low",
    "fatal_high",
    "nonfatal_per_100k",
    "nonfatal_low",
    "nonfatal_high",
]
ILOSTAT_COLUMNS = [
    "ref_area",
    "source",
    "indicator",
    "sex",
    "classif1",
    "time",
    "obs_value",
    "obs_status",
    "note_source",
]
ESAW_COLUMNS = [
    "case_id",
    "accident_id",
    "year",
    "month",
    "geo",
    "nace_section",
    "severity",
    "deviation",
    "contact_mode",
    "injury_type",
    "body_part",
    "cause_kz",
    "icd10",
    "group_accident",
]


def _round(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def table_rows(*, db: Session, actor: Actor, f: Filters, by: str) -> list[list[Any]]:
    t = table(db=db, actor=actor, f=f, by=by)
    rows = [[_round(r.get(c)) for c in TABLE_COLUMNS] for r in t["rows"]]
    total = {"key": "TOTAL", "label": "", **t["total"]}
    rows.append([_round(total.get(c)) for c in TABLE_COLUMNS])
    return [TABLE_COLUMNS, *rows]


def to_csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue().encode("utf-8-sig")  # BOM: Excel opens Cyrillic correctly


def to_xlsx(rows: list[list[Any]], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def ilostat_rows(*, db: Session, actor: Actor, years: range) -> list[list[Any]]:
    """INJ_FATL/NFTL_ECO_NB_A (counts) and _RT_A (per 100,000 workers) by ISIC section."""
    out: list[list[Any]] = [ILOSTAT_COLUMNS]
    note = "qorgau; denominator: employment-contract register headcount at mid-year"
    for year in years:
        f = Filters(date(year, 1, 1), date(year, 12, 31))
        t = table(db=db, actor=actor, f=f, by="section")
        for r in [*t["rows"], {**t["total"], "key": "TOTAL"}]:
            classif = f"ECO_ISIC4_{r['key']}" if r["key"] != "TOTAL" else "ECO_AGGREGATE_TOTAL"
            for ind, value in (
                ("INJ_FATL_ECO_NB_A", r["fatal"]),
                ("INJ_NFTL_ECO_NB_A", r["nonfatal"]),
                ("INJ_FATL_ECO_RT_A", r["fatal_per_100k"]),
                ("INJ_NFTL_ECO_RT_A", r["nonfatal_per_100k"]),
            ):
                out.append(
                    [
                        "KAZ",
                        "AD:qorgau",
                        ind,
                        "SEX_T",
                        classif,
                        year,
                        "" if value is None else _round(value),
                        "",
                        note,
                    ]
                )
    return out


def esaw_rows(*, db: Session, actor: Actor, f: Filters) -> list[list[Any]]:
    out: list[list[Any]] = [ESAW_COLUMNS]
    for r in incidents.esaw_cases(db=db, actor=actor, start=f.start, end=f.end):
        out.append(
            [
                r.id,
                r.accident_id,
                r.occurred_on.year,
                r.occurred_on.month,
                r.region_code,
                r.section,
                r.severity,
                r.esaw_deviation or "00",
                r.esaw_contact or "00",
                r.esaw_injury_type or "000",
                r.esaw_body_part or "00",
                r.cause_code or "",
                r.icd10 or "",
                int(r.victims_count >= 2),
            ]
        )
    return out
