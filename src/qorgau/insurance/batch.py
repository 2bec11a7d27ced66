"""Bulk contract import in named steps: parse rows → check against the register → apply.

Every problem is collected with its row and field; the batch is applied only if none remain.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.security import Actor
from qorgau.insurance import premium as prem
from qorgau.insurance.constants import PREMIUM_TOLERANCE_KZT, WRITE_CONTRACTS
from qorgau.insurance.exceptions import BatchRejected, RowError
from qorgau.insurance.models import InsuranceContract
from qorgau.insurance.schemas import ContractIn
from qorgau.registry.models import Enterprise
from qorgau.registry.refdata import RefDataError, load_insurance_params, oked_risk_class

CHUNK = 900  # stays under SQLite's bound-parameter limit


def parse_rows(rows: list[dict[str, Any]]) -> tuple[dict[int, ContractIn], list[RowError]]:
    good: dict[int, ContractIn] = {}
    errors: list[RowError] = []
    for i, raw in enumerate(rows):
        try:
            good[i] = ContractIn.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else "row"
                errors.append(RowError(i, field, err["msg"]))
    return good, errors


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _enterprises(db: Session, bins: set[str]) -> dict[str, Enterprise]:
    found: dict[str, Enterprise] = {}
    for part in _chunks(sorted(bins)):
        for ent in db.scalars(select(Enterprise).where(Enterprise.bin.in_(part))):
            found[ent.bin] = ent
    return found


def _existing(db: Session, ent_ids: list[int]) -> dict[int, list[tuple[date, date, str]]]:
    periods: dict[int, list[tuple[date, date, str]]] = defaultdict(list)
    cols = (
        InsuranceContract.enterprise_id,
        InsuranceContract.start_date,
        InsuranceContract.end_date,
        InsuranceContract.policy_no,
    )
    for part in _chunks(ent_ids):
        for eid, start, end, policy in db.execute(
            select(*cols).where(InsuranceContract.enterprise_id.in_(part))
        ):
            periods[eid].append((start, end, policy))
    return periods


def _taken_policies(db: Session, policies: list[str]) -> set[str]:
    taken: set[str] = set()
    for part in _chunks(policies):
        taken.update(
            db.scalars(
                select(InsuranceContract.policy_no).where(InsuranceContract.policy_no.in_(part))
            )
        )
    return taken


def _check_money(i: int, row: ContractIn, ent: Enterprise) -> list[RowError]:
    errors: list[RowError] = []
    try:
        rc = oked_risk_class(ent.activity_code)
        load_insurance_params().min_wage(row.start_date.year)
    except RefDataError as exc:
        return [RowError(i, "start_date", str(exc))]
    if row.risk_class != rc.risk_class:
        errors.append(
            RowError(
                i,
                "risk_class",
                f"the employer's activity {ent.activity_code} "
                f"is in risk class {rc.risk_class}, not {row.risk_class}",
            )
        )
        return errors
    expected = prem.expected_premium(
        row.payroll, row.insured_headcount, row.start_date.year, rc.tariff_pct
    )
    if abs(row.premium - expected) > PREMIUM_TOLERANCE_KZT:
        errors.append(
            RowError(
                i,
                "premium",
                f"premium {row.premium} does not match tariff "
                f"{rc.tariff_pct} % × insurable payroll = {expected}",
            )
        )
    return errors


def _check_period(i: int, row: ContractIn) -> list[RowError]:
    months = load_insurance_params().contract_months
    limit = (
        row.start_date.replace(year=row.start_date.year + months // 12)
        if months % 12 == 0
        else None
    )
    if limit is not None and row.end_date >= limit:
        return [RowError(i, "end_date", f"a contract lasts at most {months} months")]
    return []


def check_rows(
    db: Session, rows: dict[int, ContractIn]
) -> tuple[list[RowError], dict[str, Enterprise]]:
    errors: list[RowError] = []
    ents = _enterprises(db, {r.employer_bin for r in rows.values()})
    taken = _taken_policies(db, [r.policy_no for r in rows.values()])
    periods = _existing(db, sorted({e.id for e in ents.values()}))
    seen_policy: dict[str, int] = {}
    for i, row in rows.items():
        ent = ents.get(row.employer_bin)
        if row.policy_no in taken or row.policy_no in seen_policy:
            errors.append(RowError(i, "policy_no", f"policy {row.policy_no} already exists"))
        seen_policy.setdefault(row.policy_no, i)
        errors += _check_period(i, row)
        if ent is None:
            errors.append(RowError(i, "employer_bin", f"no enterprise with BIN {row.employer_bin}"))
            continue
        for start, end, policy in periods[ent.id]:
            if start <= row.end_date and row.start_date <= end:
                errors.append(
                    RowError(
                        i,
                        "start_date",
                        f"overlaps policy {policy} of the same employer ({start}–{end})",
                    )
                )
                break
        periods[ent.id].append((row.start_date, row.end_date, row.policy_no))
        errors += _check_money(i, row, ent)
    return errors, ents


def import_contracts(*, db: Session, actor: Actor, rows: list[dict[str, Any]]) -> tuple[int, str]:
    """Validate every row, then insert all of them in one transaction (or raise BatchRejected)."""
    actor.require(WRITE_CONTRACTS)
    if actor.organisation_id is None:
        raise BatchRejected([RowError(0, "insurer", "the caller belongs to no insurer")])
    parsed, errors = parse_rows(rows)
    more, ents = check_rows(db, parsed)
    errors += more
    if errors:
        raise BatchRejected(errors)
    ref = f"B{date.today():%Y%m%d}-{secrets.token_hex(4)}"
    objs = []
    for row in parsed.values():
        ent = ents[row.employer_bin]
        rc = oked_risk_class(ent.activity_code)
        objs.append(
            InsuranceContract(
                **row.model_dump(),
                enterprise_id=ent.id,
                region_code=ent.region_code,
                insurer_org_id=actor.organisation_id,
                tariff_pct=rc.tariff_pct,
                batch_ref=ref,
                created_by=actor.label,
            )
        )
    db.add_all(objs)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="insurance.contracts.import",
        object_type="contract_batch",
        object_id=ref,
        after={"rows": len(objs), "policies": [o.policy_no for o in objs[:50]]},
    )
    db.commit()
    return len(objs), ref
