"""Risk REST API for the maturity inputs and the worker's own instruction: hours worked per
month, near misses, worker-account links, "my instructions". Included by router.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from qorgau.core.deps import ActorDep, DbDep
from qorgau.risk import service
from qorgau.risk.schemas import (
    HoursIn,
    HoursOut,
    NearMissIn,
    NearMissOut,
    WorkerLinkIn,
    WorkerLinkOut,
)

router = APIRouter(tags=["risk"])  # prefix /api/v1/risk from router.py


@router.put("/hours-worked/{enterprise_id}", response_model=HoursOut)
def record_hours(enterprise_id: int, data: HoursIn, db: DbDep, actor: ActorDep) -> Any:
    return service.record_hours(db=db, actor=actor, enterprise_id=enterprise_id, data=data)


@router.get("/hours-worked/{enterprise_id}", response_model=list[HoursOut])
def hours_worked(enterprise_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.hours_worked(db=db, actor=actor, enterprise_id=enterprise_id)


@router.post("/near-misses", response_model=NearMissOut, status_code=201)
def report_near_miss(data: NearMissIn, db: DbDep, actor: ActorDep) -> Any:
    return service.report_near_miss(db=db, actor=actor, data=data)


@router.get("/near-misses/{enterprise_id}", response_model=list[NearMissOut])
def list_near_misses(enterprise_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.list_near_misses(db=db, actor=actor, enterprise_id=enterprise_id)


@router.post("/worker-accounts", response_model=WorkerLinkOut, status_code=201)
def link_worker_account(data: WorkerLinkIn, db: DbDep, actor: ActorDep) -> Any:
    return service.link_worker_account(db=db, actor=actor, data=data)


@router.get("/worker-accounts/{enterprise_id}", response_model=list[WorkerLinkOut])
def list_worker_accounts(enterprise_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.list_worker_accounts(db=db, actor=actor, enterprise_id=enterprise_id)


@router.delete("/worker-accounts/link/{link_id}", response_model=WorkerLinkOut)
def unlink_worker_account(link_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.unlink_worker_account(db=db, actor=actor, link_id=link_id)


@router.get("/my-instructions")
def my_instructions(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """The calling worker's instructed hazards and the state of each confirmation."""
    view = service.my_instructions(db=db, actor=actor)
    worker = view["worker"]
    return {
        "worker_id": worker.id if worker else None,
        "linked": worker is not None,
        "items": [
            {
                "hazard_id": i["hazard"].id,
                "hazard_type": i["hazard"].hazard_type,
                "description": i["hazard"].description,
                "band": i["band"],
                "controls": [{"level": c.level, "text": c.text} for c in i["controls"]],
                "state": i["state"],
                "confirmed_on": i["last"].confirmed_on if i["last"] else None,
                "expires_on": i["last"].expires_on if i["last"] else None,
            }
            for i in view["items"]
        ],
    }
