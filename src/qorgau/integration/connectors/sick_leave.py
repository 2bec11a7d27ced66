"""Sick-leave certificates (temporary disability, e-health) → concealment evidence.

Source: JSON lines, one certificate per line (file drop or HTTP pages).

| source field   | our row field | notes                                                    |
|----------------|---------------|----------------------------------------------------------|
| certificate_no | source_ref    | natural key                                              |
| iin            | iin           | hashed on receipt                                        |
| surname, name  | last_name, first_name |                                                  |
| employer_bin   | employer_bin  |                                                          |
| date_from      | event_date    | first day of incapacity                                  |
| date_to        | end_date      | last day (may be empty while open)                       |
| cause_code     | cause_code    | 01 illness, 02 work injury, 03 occ. disease, 04 off-work |

Apply: `qorgau.concealment.service.submit_evidence(source="sick_leave")`.
"""

from __future__ import annotations

from typing import Any

from qorgau.integration.bulk import FeedHandler
from qorgau.integration.connectors.base import Connector, PassThroughRow, blank, evidence_apply


def to_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_ref": r["certificate_no"],
        "iin": blank(r.get("iin")),
        "last_name": r.get("surname", ""),
        "first_name": r.get("name", ""),
        "employer_bin": blank(r.get("employer_bin")),
        "event_date": r["date_from"],
        "end_date": blank(r.get("date_to")),
        "cause_code": r["cause_code"],
    }


def to_source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "certificate_no": row["source_ref"],
        "iin": row["iin"] or "",
        "surname": row["last_name"],
        "name": row["first_name"],
        "employer_bin": row["employer_bin"] or "",
        "date_from": row["event_date"],
        "date_to": row["end_date"] or "",
        "cause_code": row["cause_code"],
    }


CONNECTOR = Connector(
    feed="sick_leave",
    source_format="jsonl",
    sample="sick_leave.jsonl",
    to_row=to_row,
    to_source=to_source,
    handler=FeedHandler(PassThroughRow, evidence_apply("sick_leave")),
)
