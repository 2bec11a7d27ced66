"""Inspection pages: plans (risk-ranked, explained), the phone checklist, results, HPF register."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from qorgau.core.deps import DbDep
from qorgau.core.errors import DomainError, NotFound
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.inspections import service
from qorgau.inspections.constants import (
    AUTHORITIES,
    AUTHORITY_OF_ROLE,
    CONDUCT,
    DEVICE_KINDS,
    FACILITY_KINDS,
    HPF_WRITE,
    PLAN,
    READ,
    STATE_LABELS,
)
from qorgau.inspections.schemas import DeviceIn, FacilityIn, PlanIn
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)
register_nav(N_("Inspections"), "/inspections", PERMISSIONS[READ], order=80)
register_nav(N_("Hazardous facilities"), "/inspections/facilities", PERMISSIONS[READ], order=81)


def _next_month() -> tuple[date, date]:
    first = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


@router.get("/inspections", response_class=HTMLResponse)
def home(
    request: Request, db: DbDep, actor: PageActorDep, error: str | None = None
) -> HTMLResponse:
    actor.require(READ)
    start, end = _next_month()
    presc, _ = service.list_prescriptions(db=db, actor=actor, params=PageParams(page=1, size=50))
    ctx = {
        "plans": service.list_plans(db=db, actor=actor),
        "can_plan": actor.can(PLAN),
        "authority": AUTHORITY_OF_ROLE.get(actor.role),
        "authorities": AUTHORITIES,
        "start": start,
        "end": end,
        "prescriptions": presc,
        "error": error,
        "states": STATE_LABELS,
    }
    return render(request, "inspections/home.html", ctx, actor=actor)


@router.post("/inspections/plans", response_class=HTMLResponse)
def create_plan(
    request: Request,
    db: DbDep,
    actor: FormActorDep,
    period_start: Annotated[date, Form()],
    period_end: Annotated[date, Form()],
) -> Response:
    authority = AUTHORITY_OF_ROLE.get(actor.role, "labour")
    try:
        plan = service.create_plan(
            db=db,
            actor=actor,
            data=PlanIn(authority=authority, period_start=period_start, period_end=period_end),
        )
    except (ValidationError, DomainError) as exc:
        db.rollback()
        msg = str(exc.errors()[0]["msg"]) if isinstance(exc, ValidationError) else exc.message
        return home(request, db, actor, error=msg)
    return RedirectResponse(f"/inspections/plans/{plan.id}", status_code=303)


@router.get("/inspections/plans/{plan_id}", response_class=HTMLResponse)
def plan(request: Request, plan_id: int, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    plan, items = service.get_plan(db=db, actor=actor, plan_id=plan_id)
    names = {e.id: e for e in _enterprises(db, actor, [i.enterprise_id for i in items])}
    ctx = {
        "plan": plan,
        "items": items,
        "names": names,
        "authorities": AUTHORITIES,
        "can_conduct": actor.can(CONDUCT),
    }
    return render(request, "inspections/plan.html", ctx, actor=actor)


def _enterprises(db: DbDep, actor: PageActorDep, ids: list[int]) -> list:
    out = []
    for eid in ids:
        try:
            out.append(registry.get_enterprise(db=db, actor=actor, enterprise_id=eid))
        except NotFound:
            continue
    return out


@router.get("/inspections/conduct/{enterprise_id}", response_class=HTMLResponse)
def conduct(
    request: Request,
    enterprise_id: int,
    db: DbDep,
    actor: PageActorDep,
    plan_item: int | None = None,
    follow_up: int | None = None,
) -> HTMLResponse:
    actor.require(CONDUCT)
    ent = registry.get_enterprise(db=db, actor=actor, enterprise_id=enterprise_id)
    authority = AUTHORITY_OF_ROLE[actor.role]
    ctx = {
        "ent": ent,
        "items": service.checklist(db=db, name=authority),
        "plan_item": plan_item,
        "follow_up": follow_up,
        "authority": authority,
        "authorities": AUTHORITIES,
    }
    return render(request, "inspections/conduct.html", ctx, actor=actor)


@router.get("/inspections/records/{inspection_id}", response_class=HTMLResponse)
def record(request: Request, inspection_id: int, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(READ)
    got = service.get_inspection(db=db, actor=actor, inspection_id=inspection_id)
    ent = registry.get_enterprise(db=db, actor=actor, enterprise_id=got["inspection"].enterprise_id)
    items = {i.code: i for i in service.checklist(db=db, name=got["inspection"].authority)}
    return render(
        request,
        "inspections/record.html",
        {
            **got,
            "ent": ent,
            "items": items,
            "can_conduct": actor.can(CONDUCT),
            "states": STATE_LABELS,
        },
        actor=actor,
    )


@router.get("/inspections/facilities", response_class=HTMLResponse)
def facilities(
    request: Request, db: DbDep, actor: PageActorDep, error: str | None = None, status: int = 200
) -> HTMLResponse:
    actor.require(READ)
    ctx = {
        "facilities": service.list_facilities(db=db, actor=actor),
        "devices": service.list_devices(db=db, actor=actor),
        "today": date.today(),
        "can_write": actor.can(HPF_WRITE),
        "facility_kinds": FACILITY_KINDS,
        "device_kinds": DEVICE_KINDS,
        "error": error,
    }
    return render(request, "inspections/facilities.html", ctx, actor=actor, status_code=status)


@router.post("/inspections/facilities", response_class=HTMLResponse)
async def add_facility(request: Request, db: DbDep, actor: FormActorDep) -> Response:
    form = await request.form()
    what = form.get("what")
    raw = {k: (str(v).strip() or None) for k, v in form.items() if k not in ("csrf_token", "what")}
    try:
        if what == "device":
            service.register_device(db=db, actor=actor, data=DeviceIn.model_validate(raw))
        else:
            service.register_facility(db=db, actor=actor, data=FacilityIn.model_validate(raw))
    except (ValidationError, DomainError) as exc:
        db.rollback()
        if isinstance(exc, DomainError) and exc.status_code == 403:
            raise
        msg = (
            f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}"
            if isinstance(exc, ValidationError)
            else f"{exc.field}: {exc.message}"
        )
        return facilities(request, db, actor, error=msg, status=422)
    return RedirectResponse("/inspections/facilities", status_code=303)
