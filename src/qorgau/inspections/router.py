"""Inspections REST API: HPF register, risk scores, plans, checklists, submissions, enforcement."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.errors import Forbidden
from qorgau.core.pagination import Page, PageParams, page_of
from qorgau.inspections import service
from qorgau.inspections.constants import DAILY
from qorgau.inspections.schemas import (
    AppealIn,
    AppealOut,
    CapacityIn,
    Component,
    DecisionIn,
    DeviceIn,
    DeviceOut,
    ExaminationIn,
    FacilityIn,
    FacilityOut,
    FineIn,
    FineOut,
    InspectionOut,
    PlanIn,
    PlanItemOut,
    PlanOut,
    PrescriptionOut,
    ScoreOut,
    SubmissionIn,
)

router = APIRouter(prefix="/api/v1/inspections", tags=["inspections"])
PageDep = Annotated[PageParams, Query()]


@router.post("/facilities", response_model=FacilityOut, status_code=201)
def register_facility(data: FacilityIn, db: DbDep, actor: ActorDep) -> Any:
    return service.register_facility(db=db, actor=actor, data=data)


@router.get("/facilities", response_model=list[FacilityOut])
def facilities(db: DbDep, actor: ActorDep, enterprise_id: int | None = None) -> Any:
    return service.list_facilities(db=db, actor=actor, enterprise_id=enterprise_id)


@router.post("/devices", response_model=DeviceOut, status_code=201)
def register_device(data: DeviceIn, db: DbDep, actor: ActorDep) -> Any:
    return service.register_device(db=db, actor=actor, data=data)


@router.get("/devices", response_model=list[DeviceOut])
def devices(
    db: DbDep, actor: ActorDep, overdue: bool = False, enterprise_id: int | None = None
) -> Any:
    return service.list_devices(
        db=db,
        actor=actor,
        enterprise_id=enterprise_id,
        overdue_on=date.today() if overdue else None,
    )


@router.post("/devices/{device_id}/examinations", response_model=DeviceOut)
def examination(device_id: int, data: ExaminationIn, db: DbDep, actor: ActorDep) -> Any:
    return service.record_examination(db=db, actor=actor, device_id=device_id, data=data)


@router.get("/hpf-map")
def hpf_map(db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return service.hpf_points(db=db, actor=actor)


@router.get("/scores/{enterprise_id}", response_model=ScoreOut)
def score(enterprise_id: int, db: DbDep, actor: ActorDep) -> ScoreOut:
    bd = service.score_for(db=db, actor=actor, enterprise_id=enterprise_id)
    return ScoreOut(
        enterprise_id=enterprise_id,
        total=bd.total,
        components=[Component(**c) for c in bd.as_list()],
        skipped=[Component(name=p.name, points=0, reason=p.reason) for p in bd.skipped],
    )


@router.put("/capacity/{region}/{authority}")
def capacity(
    region: Annotated[str, "KZ-xx"], authority: str, data: CapacityIn, db: DbDep, actor: ActorDep
) -> dict[str, Any]:
    if authority not in ("labour", "industrial"):
        raise Forbidden("unknown authority")
    row = service.set_capacity(
        db=db, actor=actor, region=region, authority=authority, per_month=data.per_month
    )
    return {"region": row.region_code, "authority": row.authority, "per_month": row.per_month}


@router.post("/plans", response_model=PlanOut, status_code=201)
def create_plan(data: PlanIn, db: DbDep, actor: ActorDep) -> PlanOut:
    plan = service.create_plan(db=db, actor=actor, data=data)
    return _plan_out(db, actor, plan.id)


def _plan_out(db: Any, actor: Any, plan_id: int) -> PlanOut:
    plan, items = service.get_plan(db=db, actor=actor, plan_id=plan_id)
    out = PlanOut.model_validate(plan)
    return out.model_copy(update={"items": [PlanItemOut.model_validate(i) for i in items]})


@router.get("/plans", response_model=list[PlanOut])
def plans(db: DbDep, actor: ActorDep) -> list[PlanOut]:
    return [PlanOut.model_validate(p) for p in service.list_plans(db=db, actor=actor)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
def plan(plan_id: int, db: DbDep, actor: ActorDep) -> PlanOut:
    return _plan_out(db, actor, plan_id)


@router.get("/checklists/{name}")
def checklist(name: str, db: DbDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [
        {
            "code": i.code,
            "norm": i.norm,
            "weight": i.weight,
            "text_kk": i.text_kk,
            "text_ru": i.text_ru,
            "text_en": i.text_en,
        }
        for i in service.checklist(db=db, name=name)
    ]


@router.post("/submissions", response_model=InspectionOut, status_code=201)
def submit(data: SubmissionIn, db: DbDep, actor: ActorDep, response: Response) -> InspectionOut:
    """Idempotent on client_uuid: a re-sent submission returns the stored one (200)."""
    insp, violations, duplicate = service.submit_inspection(db=db, actor=actor, data=data)
    if duplicate:
        response.status_code = 200
    out = InspectionOut.model_validate(insp)
    return out.model_copy(update={"violations": violations, "duplicate": duplicate})


@router.get("/records/{inspection_id}")
def inspection(inspection_id: int, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    got = service.get_inspection(db=db, actor=actor, inspection_id=inspection_id)
    return {
        "inspection": InspectionOut.model_validate(got["inspection"]).model_dump(mode="json"),
        "answers": [
            {"item_code": a.item_code, "result": a.result, "note": a.note, "photos": len(a.photos)}
            for a in got["answers"]
        ],
        "violations": [
            {"id": v.id, "item_code": v.item_code, "norm": v.norm, "state": v.state}
            for v in got["violations"]
        ],
        "prescriptions": [
            PrescriptionOut.model_validate(p).model_dump(mode="json") for p in got["prescriptions"]
        ],
    }


@router.get("/prescriptions", response_model=Page[PrescriptionOut])
def prescriptions(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    state: Annotated[str | None, Query(pattern="^(open|overdue|complied|not_complied)$")] = None,
    enterprise_id: int | None = None,
) -> Page[PrescriptionOut]:
    items, total = service.list_prescriptions(
        db=db, actor=actor, params=params, state=state, enterprise_id=enterprise_id
    )
    return page_of(items, total, params, PrescriptionOut.model_validate)


@router.post("/violations/{violation_id}/fines", response_model=FineOut, status_code=201)
def fine(violation_id: int, data: FineIn, db: DbDep, actor: ActorDep) -> Any:
    return service.impose_fine(db=db, actor=actor, violation_id=violation_id, data=data)


@router.post("/fines/{fine_id}/appeals", response_model=AppealOut, status_code=201)
def appeal(fine_id: int, data: AppealIn, db: DbDep, actor: ActorDep) -> Any:
    return service.file_appeal(db=db, actor=actor, fine_id=fine_id, data=data)


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
def decide(appeal_id: int, data: DecisionIn, db: DbDep, actor: ActorDep) -> Any:
    return service.decide_appeal(db=db, actor=actor, appeal_id=appeal_id, data=data)


@router.post("/daily")
def daily(db: DbDep, actor: ActorDep, on: date | None = None) -> dict[str, Any]:
    actor.require(DAILY)
    return service.run_daily(db=db, on=on)
