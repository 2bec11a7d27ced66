"""Integration pages: the exchange monitor (admin, ministry) and reports (XLSX / PDF)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from qorgau.core.deps import DbDep
from qorgau.core.labels import N_
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.integration import monitor, reports, service
from qorgau.integration.constants import MANAGE_DELIVERIES, READ_REPORTS, VIEW_MONITOR

router = APIRouter(include_in_schema=False)
register_nav(N_("Data exchange"), "/integration/exchange", PERMISSIONS[VIEW_MONITOR], order=90)


@router.get("/integration/exchange", response_class=HTMLResponse)
def exchange(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    feeds = monitor.feed_health(db=db, actor=actor)
    ctx = {
        "feeds": feeds,
        "silent": sum(f.silent for f in feeds),
        "deliveries": monitor.delivery_summary(db=db, actor=actor),
        "dead": service.list_deliveries(db=db, actor=actor, status="dead", limit=20)
        if actor.can(MANAGE_DELIVERIES)
        else [],
        "can_check": actor.can(MANAGE_DELIVERIES),
    }
    return render(request, "integration/exchange.html", ctx, actor=actor)


@router.post("/integration/exchange/check")
def check_silent(db: DbDep, actor: FormActorDep) -> RedirectResponse:
    actor.require(MANAGE_DELIVERIES)
    monitor.check_silent_feeds(db=db)
    return RedirectResponse("/integration/exchange", status_code=303)


register_nav(N_("Reports"), "/integration/reports", PERMISSIONS[READ_REPORTS], order=95)


@router.get("/integration/reports", response_class=HTMLResponse)
def reports_page(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(READ_REPORTS)
    ctx = {"schedules": reports.list_schedules(db=db, actor=actor)}
    return render(request, "integration/reports.html", ctx, actor=actor)


@router.post("/integration/reports/schedule")
async def schedule_report(request: Request, db: DbDep, actor: FormActorDep) -> RedirectResponse:
    form = await request.form()
    reports.create_schedule(
        db=db,
        actor=actor,
        fmt=str(form.get("fmt", "")),
        language=str(form.get("language", "")),
        every=str(form.get("every", "")),
    )
    return RedirectResponse("/integration/reports", status_code=303)
