"""Registry pages: searchable enterprise list, enterprise card, workers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from qorgau.core.deps import DbDep
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS, READ_REGISTRY, READ_WORKERS
from qorgau.core.web import PageActorDep, register_nav, render
from qorgau.registry import service

router = APIRouter(include_in_schema=False)
register_nav(N_("Registry"), "/registry", PERMISSIONS[READ_REGISTRY], order=20)


def _opt(value: str | None) -> str | None:
    return value or None


@router.get("/registry", response_class=HTMLResponse)
def enterprises(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, Query(max_length=5)] = None,
    section: Annotated[str | None, Query(max_length=1)] = None,
    size_band: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=25)
    items, total = service.list_enterprises(
        db=db,
        actor=actor,
        params=params,
        q=_opt(q),
        region=_opt(region),
        section=_opt(section),
        size_band=_opt(size_band),
    )
    ctx = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // 25)),
        "q": q or "",
        "region": region or "",
        "section": section or "",
        "size_band": size_band or "",
        "regions": service.regions(db=db),
        "sections": service.activities(db=db, level="section"),
    }
    return render(request, "registry/enterprises.html", ctx, actor=actor)


@router.get("/registry/enterprises/{enterprise_id}", response_class=HTMLResponse)
def enterprise_card(
    request: Request, enterprise_id: int, db: DbDep, actor: PageActorDep
) -> HTMLResponse:
    ent = service.get_enterprise(db=db, actor=actor, enterprise_id=enterprise_id)
    today = date.today()
    trend = [
        (year, service.enterprise_headcount(db=db, enterprise_id=ent.id, on=date(year, 1, 1)))
        for year in range(today.year - 3, today.year + 1)
    ]
    sites, _ = service.list_sites(
        db=db, actor=actor, enterprise_id=ent.id, params=PageParams(page=1, size=50)
    )
    ctx = {
        "ent": ent,
        "headcount": service.enterprise_headcount(db=db, enterprise_id=ent.id, on=today),
        "trend": trend,
        "sites": sites,
        "can_workers": actor.can(READ_WORKERS),
    }
    return render(request, "registry/enterprise.html", ctx, actor=actor)


@router.get("/registry/workers", response_class=HTMLResponse)
def workers(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    enterprise_id: int | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=50)
    items, total = service.list_workers(
        db=db, actor=actor, enterprise_id=enterprise_id, q=_opt(q), params=params
    )
    ctx = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // 50)),
        "q": q or "",
        "enterprise_id": enterprise_id,
    }
    return render(request, "registry/workers.html", ctx, actor=actor)
