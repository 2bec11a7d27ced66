"""Insurers' compulsory accident insurance contracts and claims.

Contracts → `qorgau.insurance.service.import_contracts` (feed `insurance-contracts`); a
re-delivered policy (same policy number) is reported `unchanged`, not imported twice.
Claims → `qorgau.concealment.service.submit_evidence(source="insurance_claim")` (feed
`insurance_claim`): a claim is evidence that an injury happened. Filing the claim itself in
insurance (`insurance.service.file_claim`) is NOT done by this connector: that function takes
one claim at a time, commits each and has no natural key for re-delivery, so a batch could be
half-applied or doubled. Left for the insurance domain (a batch, idempotent claim intake).

Contracts CSV (`;`):

| source field   | our row field      | notes                    |
|----------------|--------------------|--------------------------|
| policy         | policy_no          | natural key              |
| employer_bin   | employer_bin       |                          |
| valid_from / valid_to | start_date / end_date |                |
| insured_count  | insured_headcount  |                          |
| payroll        | payroll            | KZT per year             |
| risk_class     | risk_class         | 1–22                     |
| premium        | premium            | KZT                      |

Claims CSV (`;`):

| source field  | our row field | notes                                   |
|---------------|---------------|-----------------------------------------|
| claim_no      | source_ref    | natural key                             |
| iin           | iin           | hashed on receipt                       |
| surname, name | last_name, first_name |                                 |
| employer_bin  | employer_bin  |                                         |
| event_date    | event_date    | date of the insured event               |
| fatal         | fatal         | "1" / "0"                               |
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from qorgau.core.errors import RuleViolation
from qorgau.core.security import Actor
from qorgau.integration.bulk import Applied, FeedHandler
from qorgau.integration.connectors.base import (
    Connector,
    PassThroughRow,
    blank,
    evidence_apply,
    via_service,
)


def contract_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "policy_no": r["policy"],
        "employer_bin": r["employer_bin"],
        "start_date": r["valid_from"],
        "end_date": r["valid_to"],
        "insured_headcount": int(r["insured_count"]),
        "payroll": r["payroll"],
        "risk_class": int(r["risk_class"]),
        "premium": r["premium"],
    }


def contract_source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "policy": row["policy_no"],
        "employer_bin": row["employer_bin"],
        "valid_from": row["start_date"],
        "valid_to": row["end_date"],
        "insured_count": str(row["insured_headcount"]),
        "payroll": str(row["payroll"]),
        "risk_class": str(row["risk_class"]),
        "premium": str(row["premium"]),
    }


def claim_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "source_ref": r["claim_no"],
        "iin": blank(r.get("iin")),
        "last_name": r.get("surname", ""),
        "first_name": r.get("name", ""),
        "employer_bin": blank(r.get("employer_bin")),
        "event_date": r["event_date"],
        "fatal": r.get("fatal") == "1",
    }


def claim_source(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "claim_no": row["source_ref"],
        "iin": row["iin"] or "",
        "surname": row["last_name"],
        "name": row["first_name"],
        "employer_bin": row["employer_bin"] or "",
        "event_date": row["event_date"],
        "fatal": "1" if row["fatal"] else "0",
    }


def _import_contracts(db: Session, actor: Actor, rows: list[dict[str, Any]]) -> list[str]:
    """Import new policies; policies already on file are `unchanged` (re-delivery no-op)."""
    from qorgau.insurance import service as insurance

    fn = insurance.import_contracts
    try:
        fn(db=db, actor=actor, rows=rows)
        return ["created"] * len(rows)
    except RuleViolation as exc:
        errors = getattr(exc, "errors", [])
        present = {e.row for e in errors if e.field == "policy_no" and "already" in e.msg}
        if not present or any(e.row not in present for e in errors):
            raise
    fresh = [r for i, r in enumerate(rows) if i not in present]
    if fresh:
        try:
            fn(db=db, actor=actor, rows=fresh)
        except RuleViolation as exc:  # re-number the rows to the delivery's indices
            index = [i for i in range(len(rows)) if i not in present]
            for e in getattr(exc, "errors", []):
                e.row = index[e.row]
            raise
    return ["unchanged" if i in present else "created" for i in range(len(rows))]


def _contracts_apply(db: Session, actor: Actor, rows: list[Any], delivery_id: str) -> Applied:
    return via_service(_import_contracts)(db, actor, rows, delivery_id)


CONTRACTS = Connector(
    feed="insurance-contracts",
    source_format="csv",
    sample="insurance_contracts.csv",
    to_row=contract_row,
    to_source=contract_source,
    handler=FeedHandler(PassThroughRow, _contracts_apply),
)
CLAIMS = Connector(
    feed="insurance_claim",
    source_format="csv",
    sample="insurance_claims.csv",
    to_row=claim_row,
    to_source=claim_source,
    handler=FeedHandler(PassThroughRow, evidence_apply("insurance_claim")),
)
