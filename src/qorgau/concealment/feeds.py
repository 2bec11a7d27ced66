"""Evidence feed rows: validation (every bad row reported with index, field and reason),
identifier handling at the edge (IIN → keyed hash + validity flag) and CSV/XLSX parsing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from qorgau.concealment import constants as C
from qorgau.concealment.constants import SICK_LEAVE_CAUSES
from qorgau.concealment.schemas import EvidenceIn
from qorgau.concealment.translit import normalize_name
from qorgau.core.identifiers import bin_problem, iin_birth_date, iin_problem
from qorgau.core.security import iin_hash
from qorgau.incidents.coding import is_injury_icd10, normalize_icd10

EARLIEST = date(2000, 1, 1)
COLUMNS = list(EvidenceIn.model_fields)


@dataclass
class CleanRow:
    index: int
    values: dict[str, Any]  # columns of EvidenceRecord (no clear IIN)


def _loc(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "row"


def _iin_fields(iin: str | None) -> tuple[dict[str, Any], str | None]:
    """Hash any 12-digit IIN; a wrong check digit is kept and flagged, not rejected."""
    if not iin:
        return {"iin_hash": None, "iin_valid": False}, None
    if len(iin) != 12 or not iin.isdigit():
        return {}, "IIN must be 12 digits"
    valid = iin_problem(iin) is None
    return {"iin_hash": iin_hash(iin), "iin_valid": valid}, None


def _source_rules(source: str, row: EvidenceIn) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if source == "trauma_visit" and not row.icd10:
        errors.append(("icd10", "a trauma visit needs an ICD-10 diagnosis"))
    if source == "sick_leave":
        if not row.cause_code:
            errors.append(("cause_code", "a sick-leave certificate needs a cause code"))
        elif row.cause_code not in SICK_LEAVE_CAUSES:
            errors.append(("cause_code", f"unknown cause code; expected {SICK_LEAVE_CAUSES}"))
    if source in ("complaint", "anonymous_report") and not row.employer_bin:
        errors.append(("employer_bin", "a report must name the employer's BIN"))
    needs_person = source in C.PERSON_SOURCES
    if needs_person and not row.iin and not (row.last_name and row.birth_date):
        errors.append(("iin", "need an IIN, or a last name and birth date"))
    return errors


def _field_rules(row: EvidenceIn, today: date) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if row.icd10 and not is_injury_icd10(row.icd10):
        errors.append(("icd10", "not an ICD-10 injury code (S00–T98, e.g. S52.5)"))
    if row.employer_bin and bin_problem(row.employer_bin):
        errors.append(("employer_bin", f"invalid BIN: {bin_problem(row.employer_bin)}"))
    if row.event_date > today or row.event_date < EARLIEST:
        errors.append(("event_date", "must be between 2000-01-01 and today"))
    if row.end_date and row.end_date < row.event_date:
        errors.append(("end_date", "is before event_date"))
    if row.birth_date and (row.birth_date > row.event_date or row.birth_date.year < 1900):
        errors.append(("birth_date", "must be before the event and after 1900"))
    return errors


def validate_rows(
    source: str, rows: list[dict[str, Any]], *, today: date
) -> tuple[list[CleanRow], list[dict[str, Any]]]:
    """(clean rows, errors); the batch is applied only when errors is empty."""
    clean: list[CleanRow] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(rows):
        try:
            row = EvidenceIn.model_validate(_blank_to_none(raw))
        except ValidationError as exc:
            errors += [{"index": index, "field": _loc(e), "reason": e["msg"]} for e in exc.errors()]
            continue
        problems = _field_rules(row, today) + _source_rules(source, row)
        ids, iin_error = _iin_fields(row.iin)
        if iin_error:
            problems.append(("iin", iin_error))
        if problems:
            errors += [{"index": index, "field": f, "reason": r} for f, r in problems]
            continue
        clean.append(CleanRow(index, _values(source, row, ids)))
    return clean, errors


def _blank_to_none(raw: Any) -> Any:
    if not isinstance(raw, dict):
        return raw
    return {k: (None if v == "" else v) for k, v in raw.items() if not (v is None and k == "")}


def _values(source: str, row: EvidenceIn, ids: dict[str, Any]) -> dict[str, Any]:
    birth = row.birth_date
    if birth is None and row.iin and ids.get("iin_valid"):
        birth = iin_birth_date(row.iin)
    return {
        "source": source,
        "source_ref": row.source_ref,
        **ids,
        "last_name": normalize_name(row.last_name),
        "first_name": normalize_name(row.first_name),
        "birth_date": birth,
        "employer_bin": row.employer_bin,
        "event_date": row.event_date,
        "end_date": row.end_date,
        "icd10": normalize_icd10(row.icd10) if row.icd10 else None,
        "cause_code": row.cause_code,
        "work_related": row.work_related,
        "fatal": row.fatal or source == "fatality",
        "facility": row.facility,
        "region_code": row.region_code,
        "text": row.text,
    }


# ---------------------------------------------------------------- files


def parse_upload(filename: str, content: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV (UTF-8, comma or semicolon) or XLSX file with a header row."""
    if filename.lower().endswith(".xlsx"):
        return _parse_xlsx(content)
    text = content.decode("utf-8-sig")
    dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;") if text.strip() else csv.excel
    return [_tidy(r) for r in csv.DictReader(io.StringIO(text), dialect=dialect)]


def _parse_xlsx(content: bytes) -> list[dict[str, Any]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    rows = wb.active.iter_rows(values_only=True) if wb.active else iter(())
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    out = []
    for values in rows:
        if all(v is None for v in values):
            continue
        out.append(_tidy(dict(zip(header, values, strict=False))))
    return out


def _tidy(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if not key:
            continue
        if hasattr(value, "date") and callable(value.date):
            value = value.date().isoformat()
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, str):
            value = value.strip()
            if key in ("work_related", "fatal"):
                value = {
                    "": None,
                    "1": True,
                    "0": False,
                    "true": True,
                    "false": False,
                    "yes": True,
                    "no": False,
                }.get(value.lower(), value)
        elif isinstance(value, (int, float)) and key in ("iin", "employer_bin", "source_ref"):
            value = str(int(value)).zfill(12 if key != "source_ref" else 0)
        out[key.strip()] = value
    return out
