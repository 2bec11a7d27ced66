"""Insurance REST API: bulk contracts, contracts, coverage gaps, claims."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.pagination import Page, PageParams, page_of
from qorgau.insurance import service
from qorgau.insurance.schemas import (
    BatchOut,
    ClaimIn,
    ClaimOut,
    ClaimStateIn,
    ContractBatchIn,
    ContractOut,
    GapOut,
    RecomputeOut,
)

router = APIRouter(prefix="/api/v1/insurance", tags=["insurance"])
PageDep = Annotated[PageParams, Query()]
KIND = "^(no_contract|lapsed|headcount|payroll)$"


@router.post("/contracts/bulk", response_model=BatchOut, status_code=201)
def bulk_contracts(data: ContractBatchIn, db: DbDep, actor: ActorDep) -> BatchOut:
    """Apply every row or none; a 422 lists each bad row as loc [body, contracts, i, field]."""
    applied, ref = service.import_contracts(db=db, actor=actor, rows=data.contracts)
    return BatchOut(applied=applied, batch_ref=ref)


@router.get("/contracts", response_model=Page[ContractOut])
def list_contracts(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    enterprise_id: int | None = None,
    active_on: date | None = None,
) -> Page[ContractOut]:
    items, total = service.list_contracts(
        db=db, actor=actor, params=params, enterprise_id=enterprise_id, active_on=active_on
    )
    return page_of(items, total, params, ContractOut.model_validate)


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(contract_id: int, db: DbDep, actor: ActorDep) -> ContractOut:
    return ContractOut.model_validate(
        service.get_contract(db=db, actor=actor, contract_id=contract_id)
    )


@router.get("/gaps", response_model=Page[GapOut])
def list_gaps(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    open_only: bool = True,
    kind: Annotated[str | None, Query(pattern=KIND)] = None,
    enterprise_id: int | None = None,
    region: Annotated[str | None, Query(pattern=r"^KZ-\d{2}$")] = None,
) -> Page[GapOut]:
    items, total = service.list_gaps(
        db=db,
        actor=actor,
        params=params,
        open_only=open_only,
        kind=kind,
        enterprise_id=enterprise_id,
        region=region,
    )
    return page_of(items, total, params, GapOut.model_validate)


@router.post("/gaps/recompute", response_model=RecomputeOut)
def recompute(db: DbDep, actor: ActorDep, on: date | None = None) -> RecomputeOut:
    return RecomputeOut(**service.recompute_gaps(db=db, actor=actor, on=on))


@router.post("/claims", response_model=ClaimOut, status_code=201)
def file_claim(data: ClaimIn, db: DbDep, actor: ActorDep) -> ClaimOut:
    return ClaimOut.model_validate(service.file_claim(db=db, actor=actor, data=data))


@router.get("/claims", response_model=Page[ClaimOut])
def list_claims(
    db: DbDep, actor: ActorDep, params: PageDep, accident_ref: str | None = None
) -> Page[ClaimOut]:
    items, total = service.list_claims(db=db, actor=actor, params=params, accident_ref=accident_ref)
    return page_of(items, total, params, ClaimOut.model_validate)


@router.post("/claims/{claim_id}/state", response_model=ClaimOut)
def claim_state(claim_id: int, data: ClaimStateIn, db: DbDep, actor: ActorDep) -> ClaimOut:
    return ClaimOut.model_validate(
        service.set_claim_state(db=db, actor=actor, claim_id=claim_id, data=data)
    )
