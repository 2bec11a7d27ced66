"""Read an insurer's CSV or XLSX file into rows for the batch importer (first row = headers)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook

from qorgau.insurance.exceptions import BatchRejected, RowError

COLUMNS = (
    "policy_no",
    "employer_bin",
    "start_date",
    "end_date",
    "insured_headcount",
    "payroll",
    "risk_class",
    "premium",
)
MAX_ROWS = 10_000


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def _rows(header: list[Any], body: list[list[Any]]) -> list[dict[str, Any]]:
    names = [str(h or "").strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise BatchRejected([RowError(0, "file", f"missing columns: {', '.join(missing)}")])
    rows = []
    for values in body:
        if not any(v not in (None, "") for v in values):
            continue
        row = {n: _cell(v) for n, v in zip(names, values, strict=False) if n in COLUMNS}
        rows.append({k: v for k, v in row.items() if v != ""})
    if not rows or len(rows) > MAX_ROWS:
        raise BatchRejected([RowError(0, "file", f"the file must hold 1..{MAX_ROWS} rows")])
    return rows


def read_table(filename: str, content: bytes) -> list[dict[str, Any]]:
    """CSV (UTF-8, comma or semicolon) or XLSX; anything else is a row-0 error."""
    if content[:2] == b"PK" or filename.lower().endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a broken file
            raise BatchRejected([RowError(0, "file", f"not a readable XLSX file: {exc}")]) from exc
        sheet = wb.worksheets[0]
        table = [list(r) for r in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        wb.close()
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise BatchRejected([RowError(0, "file", "the CSV file is not UTF-8")]) from exc
        dialect = (
            ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        )
        table = list(csv.reader(io.StringIO(text), delimiter=dialect))
    if not table:
        raise BatchRejected([RowError(0, "file", "the file is empty")])
    return _rows(table[0], table[1:])
