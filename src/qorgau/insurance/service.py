"""Insurance operations other domains and the routers call: contracts, gaps, claims."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core import audit
from qorgau.core.db import get_sessionmaker, utcnow
from qorgau.core.errors import NotFound, RuleViolation
from qorgau.core.events import emit
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.security import SYSTEM_ACTOR, Actor, in_scope, scoped
from qorgau.insurance import batch, gaps
from qorgau.insurance.constants import READ_CONTRACTS, READ_GAPS, WRITE_CLAIMS
from qorgau.insurance.exceptions import ContractNotFound
from qorgau.insurance.models import CoverageGap, InsuranceClaim, InsuranceContract
from qorgau.insurance.schemas import ClaimIn, ClaimStateIn

import_contracts = batch.import_contracts


def list_contracts(
    *,
    db: Session,
    actor: Actor,
    params: PageParams,
    enterprise_id: int | None = None,
    active_on: date | None = None,
) -> tuple[list[InsuranceContract], int]:
    actor.require(READ_CONTRACTS)
    stmt = scoped(select(InsuranceContract), InsuranceContract, actor)
    if enterprise_id is not None:
        stmt = stmt.where(InsuranceContract.enterprise_id == enterprise_id)
    if active_on is not None:
        stmt = stmt.where(
            InsuranceContract.start_date <= active_on, InsuranceContract.end_date >= active_on
        )
    stmt = stmt.order_by(InsuranceContract.end_date.desc(), InsuranceContract.id.desc())
    return paginate(db, stmt, params)


def get_contract(*, db: Session, actor: Actor, contract_id: int) -> InsuranceContract:
    actor.require(READ_CONTRACTS)
    obj = db.get(InsuranceContract, contract_id)
    if obj is None or not in_scope(obj, actor):
        raise ContractNotFound()
    return obj


def active_contract_for(*, db: Session, enterprise_id: int, on: date) -> InsuranceContract | None:
    """The contract in force for an employer on a date (for notifying the insurer)."""
    stmt = (
        select(InsuranceContract)
        .where(
            InsuranceContract.enterprise_id == enterprise_id,
            InsuranceContract.start_date <= on,
            InsuranceContract.end_date >= on,
        )
        .order_by(InsuranceContract.start_date.desc(), InsuranceContract.id.desc())
        .limit(1)
    )
    return db.scalar(stmt)


def recompute_gaps(
    *, db: Session, actor: Actor = SYSTEM_ACTOR, on: date | None = None
) -> dict[str, Any]:
    """Daily job body: recompute all coverage gaps for `on` (today by default)."""
    return gaps.recompute(db=db, actor=actor, on=on or date.today())


def run_daily_gap_job(on: date | None = None) -> dict[str, Any]:
    """Entry point for a scheduler or `python -m qorgau.insurance.jobs`: own session."""
    with get_sessionmaker()() as db:
        return recompute_gaps(db=db, on=on)


def gap_query(
    *,
    actor: Actor,
    open_only: bool = True,
    kind: str | None = None,
    enterprise_id: int | None = None,
    region: str | None = None,
) -> Any:
    actor.require(READ_GAPS)
    stmt = scoped(select(CoverageGap), CoverageGap, actor)
    if open_only:
        stmt = stmt.where(CoverageGap.closed_on.is_(None))
    for col, value in (("kind", kind), ("enterprise_id", enterprise_id), ("region_code", region)):
        if value:
            stmt = stmt.where(getattr(CoverageGap, col) == value)
    return stmt.order_by(CoverageGap.opened_on.desc(), CoverageGap.id.desc())


def list_gaps(
    *, db: Session, actor: Actor, params: PageParams, **filters: Any
) -> tuple[list[CoverageGap], int]:
    return paginate(db, gap_query(actor=actor, **filters), params)


def gap_summary(*, db: Session, actor: Actor) -> dict[str, int]:
    """Open gaps by kind within the caller's slice."""
    actor.require(READ_GAPS)
    stmt = (
        scoped(select(CoverageGap.kind, func.count()), CoverageGap, actor)
        .where(CoverageGap.closed_on.is_(None))
        .group_by(CoverageGap.kind)
    )
    return {k: n for k, n in db.execute(stmt)}


def open_gaps_by_enterprise(
    *, db: Session, enterprise_ids: list[int] | None = None
) -> dict[int, list[str]]:
    """Open gap kinds per employer, unscoped: for the risk score and the map (callers scope)."""
    stmt = select(CoverageGap.enterprise_id, CoverageGap.kind).where(
        CoverageGap.closed_on.is_(None)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(CoverageGap.enterprise_id.in_(enterprise_ids))
    out: dict[int, list[str]] = {}
    for eid, kind in db.execute(stmt):
        out.setdefault(eid, []).append(kind)
    return out


def _accident_id(db: Session, ref: str, enterprise_id: int) -> int | None:
    """The register's accident when the reference is its id for the same employer (read through
    the incidents domain's service)."""
    if not ref.isdigit():
        return None
    try:
        from qorgau.incidents import service as incidents
    except ImportError:
        return None
    stmt = incidents.accident_query(actor=SYSTEM_ACTOR, enterprise_id=enterprise_id)
    found = db.execute(
        stmt.order_by(None)
        .with_only_columns(stmt.selected_columns.id)
        .where(stmt.selected_columns.id == int(ref))
    ).first()
    return int(found[0]) if found else None


def file_claim(*, db: Session, actor: Actor, data: ClaimIn) -> InsuranceClaim:
    actor.require(WRITE_CLAIMS)
    contract = db.scalar(
        scoped(select(InsuranceContract), InsuranceContract, actor).where(
            InsuranceContract.policy_no == data.policy_no
        )
    )
    if contract is None:
        raise RuleViolation("no such policy of yours", field="policy_no")
    if not contract.start_date <= data.filed_on <= contract.end_date + timedelta(days=365):
        raise RuleViolation("filed outside the contract period", field="filed_on")
    claim = InsuranceClaim(
        accident_id=_accident_id(db, data.accident_ref, contract.enterprise_id),
        contract_id=contract.id,
        enterprise_id=contract.enterprise_id,
        region_code=contract.region_code,
        insurer_org_id=contract.insurer_org_id,
        accident_ref=data.accident_ref,
        amount=data.amount,
        filed_on=data.filed_on,
        history=[{"state": "filed", "at": utcnow().isoformat(), "by": actor.label}],
        created_by=actor.label,
    )
    db.add(claim)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="insurance.claim.file",
        object_type="insurance_claim",
        object_id=claim.id,
        after=data.model_dump(),
    )
    emit(
        db,
        type="insurance.claim.filed",
        object_type="insurance_claim",
        object_id=claim.id,
        payload={"accident_ref": claim.accident_ref, "policy_no": contract.policy_no},
        region_code=claim.region_code,
        enterprise_id=claim.enterprise_id,
        organisation_id=claim.insurer_org_id,
    )
    db.commit()
    return claim


def set_claim_state(
    *, db: Session, actor: Actor, claim_id: int, data: ClaimStateIn
) -> InsuranceClaim:
    """A state change appends to the claim's history (the record is not rewritten)."""
    actor.require(WRITE_CLAIMS)
    claim = db.get(InsuranceClaim, claim_id)
    if claim is None or not in_scope(claim, actor):
        raise NotFound("claim not found")
    before = claim.state
    claim.state = data.state
    claim.history = [
        *claim.history,
        {"state": data.state, "note": data.note, "at": utcnow().isoformat(), "by": actor.label},
    ]
    audit.record(
        db,
        actor=actor,
        action="insurance.claim.state",
        object_type="insurance_claim",
        object_id=claim.id,
        before={"state": before},
        after=data.model_dump(),
    )
    db.commit()
    return claim


def list_claims(
    *, db: Session, actor: Actor, params: PageParams, accident_ref: str | None = None
) -> tuple[list[InsuranceClaim], int]:
    actor.require(READ_CONTRACTS)
    stmt = scoped(select(InsuranceClaim), InsuranceClaim, actor).order_by(InsuranceClaim.id.desc())
    if accident_ref:
        stmt = stmt.where(InsuranceClaim.accident_ref == accident_ref)
    return paginate(db, stmt, params)
