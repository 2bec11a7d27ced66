"""Registry REST API: enterprises, sites, workers, employment, headcount, reference data."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.pagination import Page, PageParams, page_of
from qorgau.registry import service
from qorgau.registry.schemas import (
    ActivityOut,
    EmploymentIn,
    EmploymentOut,
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePatch,
    HeadcountOut,
    RegionOut,
    SiteIn,
    SiteOut,
    WorkerOut,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])
PageDep = Annotated[PageParams, Query()]


@router.get("/regions", response_model=list[RegionOut])
def regions(db: DbDep, actor: ActorDep) -> list[RegionOut]:
    return [RegionOut.model_validate(r) for r in service.regions(db=db)]


@router.get("/activities", response_model=list[ActivityOut])
def activities(
    db: DbDep,
    actor: ActorDep,
    level: Annotated[str | None, Query(pattern="^(section|division)$")] = None,
) -> list[ActivityOut]:
    return [ActivityOut.model_validate(a) for a in service.activities(db=db, level=level)]


@router.get("/enterprises", response_model=Page[EnterpriseOut])
def list_enterprises(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    q: Annotated[
        str | None, Query(max_length=100, description="Name fragment or BIN prefix")
    ] = None,
    region: Annotated[str | None, Query(pattern=r"^KZ-\d{2}$")] = None,
    section: Annotated[str | None, Query(pattern="^[A-U]$")] = None,
    size_band: Annotated[str | None, Query(pattern="^(micro|small|medium|large)$")] = None,
    hazardous: bool | None = None,
) -> Page[EnterpriseOut]:
    items, total = service.list_enterprises(
        db=db,
        actor=actor,
        params=params,
        q=q,
        region=region,
        section=section,
        size_band=size_band,
        hazardous=hazardous,
    )
    return page_of(items, total, params, EnterpriseOut.model_validate)


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201)
def create_enterprise(data: EnterpriseIn, db: DbDep, actor: ActorDep) -> EnterpriseOut:
    return EnterpriseOut.model_validate(service.create_enterprise(db=db, actor=actor, data=data))


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def get_enterprise(enterprise_id: int, db: DbDep, actor: ActorDep) -> EnterpriseOut:
    ent = service.get_enterprise(db=db, actor=actor, enterprise_id=enterprise_id)
    return EnterpriseOut.model_validate(ent)


@router.patch("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def revise_enterprise(
    enterprise_id: int, data: EnterprisePatch, db: DbDep, actor: ActorDep
) -> EnterpriseOut:
    ent = service.update_enterprise(db=db, actor=actor, enterprise_id=enterprise_id, data=data)
    return EnterpriseOut.model_validate(ent)


@router.get("/sites", response_model=Page[SiteOut])
def list_sites(
    db: DbDep, actor: ActorDep, params: PageDep, enterprise_id: int | None = None
) -> Page[SiteOut]:
    items, total = service.list_sites(
        db=db, actor=actor, enterprise_id=enterprise_id, params=params
    )
    return page_of(items, total, params, SiteOut.model_validate)


@router.post("/sites", response_model=SiteOut, status_code=201)
def create_site(data: SiteIn, db: DbDep, actor: ActorDep) -> SiteOut:
    return SiteOut.model_validate(service.create_site(db=db, actor=actor, data=data))


@router.get("/sites/{site_id}", response_model=SiteOut)
def get_site(site_id: int, db: DbDep, actor: ActorDep) -> SiteOut:
    return SiteOut.model_validate(service.get_site(db=db, actor=actor, site_id=site_id))


@router.get("/workers", response_model=Page[WorkerOut])
def list_workers(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    enterprise_id: int | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Surname prefix or full IIN")
    ] = None,
) -> Page[WorkerOut]:
    items, total = service.list_workers(
        db=db, actor=actor, enterprise_id=enterprise_id, q=q, params=params
    )
    return page_of(items, total, params, WorkerOut.model_validate)


@router.post("/employment", response_model=EmploymentOut, status_code=201)
def register_employment(data: EmploymentIn, db: DbDep, actor: ActorDep) -> EmploymentOut:
    row = service.register_employment(db=db, actor=actor, data=data)
    return EmploymentOut.model_validate(row)


@router.get("/headcount", response_model=HeadcountOut)
def headcount(
    db: DbDep,
    actor: ActorDep,
    on: date | None = None,
    group_by: Annotated[str, Query(pattern="^(region|section|enterprise)$")] = "region",
) -> HeadcountOut:
    day = on or date.today()
    rows = service.headcount(db=db, actor=actor, on=day, group_by=group_by)
    return HeadcountOut(
        on=day,
        group_by=group_by,
        total=sum(n for _, n in rows),
        rows=[{"key": k, "count": n} for k, n in rows],
    )
