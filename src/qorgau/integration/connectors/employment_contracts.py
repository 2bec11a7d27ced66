"""Unified employment-contract system (ESUTD) → registry employment.

Source: daily delta file `contracts_<date>.csv` (UTF-8, `;`, header) or the same rows over HTTP.

| source field      | our row field        | notes                                    |
|-------------------|----------------------|------------------------------------------|
| event_type        | op                   | 1 = hire, 2 = change, 3 = terminate      |
| contract_number   | contract_no          | natural key (re-delivery is a no-op)     |
| employer_bin      | enterprise_bin       | must be in the registry                  |
| employee_iin      | worker.iin           | hashed on receipt, never stored in clear |
| surname / name / patronymic | worker.last_name / first_name / patronymic |        |
| position          | occupation           |                                          |
| date_from / date_to | start_date / end_date | ISO dates; empty = open-ended         |
| salary            | monthly_wage         | KZT, integer                             |
| event_time        | changed_at           | ISO 8601 with offset; not in the future  |
"""

from __future__ import annotations

from typing import Any

from qorgau.integration.bulk import HANDLERS
from qorgau.integration.connectors.base import Connector, blank

OPS = {"1": "hire", "2": "change", "3": "terminate"}
CODES = {v: k for k, v in OPS.items()}


def to_row(r: dict[str, Any]) -> dict[str, Any]:
    op = OPS.get(str(r["event_type"]), str(r["event_type"]))
    row: dict[str, Any] = {
        "op": op,
        "contract_no": r["contract_number"],
        "enterprise_bin": r["employer_bin"],
        "occupation": r.get("position", ""),
        "start_date": blank(r.get("date_from")),
        "end_date": blank(r.get("date_to")),
        "monthly_wage": int(r.get("salary") or 0),
        "changed_at": r["event_time"],
    }
    if r.get("employee_iin"):
        row["worker"] = {
            "iin": r["employee_iin"],
            "last_name": r.get("surname", ""),
            "first_name": r.get("name", ""),
            "patronymic": r.get("patronymic", ""),
        }
    return row


def to_source(row: dict[str, Any]) -> dict[str, Any]:
    w = row.get("worker") or {}
    return {
        "event_type": CODES[row["op"]],
        "contract_number": row["contract_no"],
        "employer_bin": row["enterprise_bin"],
        "employee_iin": w.get("iin", ""),
        "surname": w.get("last_name", ""),
        "name": w.get("first_name", ""),
        "patronymic": w.get("patronymic", ""),
        "position": row.get("occupation", ""),
        "date_from": row.get("start_date") or "",
        "date_to": row.get("end_date") or "",
        "salary": str(row.get("monthly_wage", 0)),
        "event_time": row["changed_at"],
    }


CONNECTOR = Connector(
    feed="employment-contracts",
    source_format="csv",
    sample="employment_contracts.csv",
    to_row=to_row,
    to_source=to_source,
    handler=HANDLERS["employment-contracts"],
)
