"""E-health trauma visits (emergency departments, trauma points) → concealment evidence.

Source: `;`-separated CSV per day from the e-health system (file drop or HTTP export).

| source field  | our row field | notes                                             |
|---------------|---------------|---------------------------------------------------|
| visit_id      | source_ref    | natural key: a re-delivered visit is a duplicate  |
| iin           | iin           | hashed by concealment on receipt                  |
| surname, name | last_name, first_name |                                           |
| visit_date    | event_date    | ISO date                                          |
| icd10         | icd10         | ICD-10 S00–T98 (injury chapter)                   |
| facility      | facility      | clinic name / code                                |
| employer_bin  | employer_bin  | as told by the patient; may be empty              |
| work_related  | work_related  | "1" yes, "0" no, "" unknown                       |

Apply: `qorgau.concealment.service.submit_evidence(source="trauma_visit")` (whole batch or
nothing; duplicates by visit_id are reported, not stored twice).
"""

from __future__ import annotations

from typing import Any

from qorgau.integration.bulk import FeedHandler
from qorgau.integration.connectors.base import Connector, PassThroughRow, blank, evidence_apply

FLAG = {"1": True, "0": False, "": None}
UNFLAG = {True: "1", False: "0", None: ""}


def to_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_ref": r["visit_id"],
        "iin": blank(r.get("iin")),
        "last_name": r.get("surname", ""),
        "first_name": r.get("name", ""),
        "event_date": r["visit_date"],
        "icd10": blank(r.get("icd10")),
        "facility": r.get("facility", ""),
        "employer_bin": blank(r.get("employer_bin")),
        "work_related": FLAG[str(r.get("work_related", ""))],
    }


def to_source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "visit_id": row["source_ref"],
        "iin": row["iin"] or "",
        "surname": row["last_name"],
        "name": row["first_name"],
        "visit_date": row["event_date"],
        "icd10": row["icd10"] or "",
        "facility": row["facility"],
        "employer_bin": row["employer_bin"] or "",
        "work_related": UNFLAG[row["work_related"]],
    }


CONNECTOR = Connector(
    feed="trauma_visit",
    source_format="csv",
    sample="ehealth_trauma.csv",
    to_row=to_row,
    to_source=to_source,
    handler=FeedHandler(PassThroughRow, evidence_apply("trauma_visit")),
)
