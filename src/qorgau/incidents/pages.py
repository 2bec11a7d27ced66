"""Incident pages: phone-friendly accident report, list, accident card with workflow forms,
overdue deadlines, hazard inbox, and the public (no login) hazard form with offline queue."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from qorgau.core.deps import DbDep
from qorgau.core.errors import DomainError
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS, Role
from qorgau.core.web import FormActorDep, OptionalPageActorDep, PageActorDep, register_nav, render
from qorgau.incidents import acts, coding, hazards, investigation, service
from qorgau.incidents.constants import (
    DEADLINE_LABELS,
    FLAG_LABELS,
    HAZARD_LABELS,
    HAZARDS,
    KZ_TZ,
    MAX_EXTENSION_WORKING_DAYS,
    NOTIFY_LABELS,
    READ,
    REPORT,
    SEVERITY_LABELS,
    STATE_LABELS,
)
from qorgau.incidents.deadlines import is_overdue
from qorgau.incidents.schemas import (
    AccidentIn,
    AccidentRevise,
    ActionIn,
    CommissionIn,
    ExtensionIn,
    FindingsIn,
    MemberIn,
    SignIn,
)
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)
register_nav(N_("Accidents"), "/incidents", PERMISSIONS[READ], order=30)
register_nav(N_("Hazard reports"), "/incidents/hazards", PERMISSIONS[HAZARDS], order=32)

LABELS = {
    **SEVERITY_LABELS,
    **STATE_LABELS,
    **DEADLINE_LABELS,
    **NOTIFY_LABELS,
    **FLAG_LABELS,
    **HAZARD_LABELS,
}


def _fmt(value: datetime | None) -> str:
    return value.astimezone(KZ_TZ).strftime("%d.%m.%Y %H:%M") if value else "—"


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"L": LABELS, "fmt": _fmt, "is_overdue": is_overdue, **extra}


def _errors(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    if isinstance(exc, DomainError):
        return [f"{exc.field}: {exc.message}" if exc.field else exc.message]
    return [str(exc)]


@router.get("/incidents", response_class=HTMLResponse)
def accidents(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    severity: Annotated[str | None, Query(max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=25)
    items, total = service.list_accidents(
        db=db, actor=actor, params=params, severity=severity or None
    )
    ctx = _ctx(
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // 25)),
        severity=severity or "",
        can_report=actor.can(REPORT),
    )
    return render(request, "incidents/list.html", ctx, actor=actor)


def _form_ctx(db: Any, actor: Any, **extra: Any) -> dict[str, Any]:
    sites = []
    if actor.enterprise_id:
        sites, _ = registry.list_sites(
            db=db,
            actor=actor,
            enterprise_id=actor.enterprise_id,
            params=PageParams(page=1, size=100),
        )
    base: dict[str, Any] = {"key": secrets.token_urlsafe(16), "errors": [], "values": {}}
    base.update(extra)
    esaw = {v: coding.esaw_list(v) for v in coding.ESAW_VARIABLES}
    return _ctx(sites=sites, esaw=esaw, **base)


@router.get("/incidents/new", response_class=HTMLResponse)
def report_form(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    actor.require(REPORT)
    return render(request, "incidents/report.html", _form_ctx(db, actor), actor=actor)


def _victims(form: Any) -> list[dict[str, Any]]:
    rows = zip(
        form.getlist("victim_iin"),
        form.getlist("victim_name"),
        form.getlist("victim_birth"),
        form.getlist("victim_severity"),
        strict=False,
    )
    out = []
    for iin, name, birth, sev in rows:
        if not (iin or name):
            continue
        out.append(
            {"iin": iin or None, "full_name": name, "birth_date": birth or None, "severity": sev}
        )
    return out


def _accident_in(form: Any, tz_offset: str) -> AccidentIn:
    local = f"{form.get('occurred_at', '')}:00{tz_offset}"
    data: dict[str, Any] = {
        "occurred_at": local,
        "severity": form.get("severity", ""),
        "circumstances": form.get("circumstances", ""),
        "victims": _victims(form),
        "site_id": int(form["site_id"]) if form.get("site_id") else None,
    }
    for var in coding.ESAW_VARIABLES:
        data[f"esaw_{var}"] = form.get(f"esaw_{var}") or None
    return AccidentIn.model_validate(data)


@router.post("/incidents/new", response_class=HTMLResponse)
async def report_submit(request: Request, db: DbDep, actor: FormActorDep) -> Response:
    form = await request.form()
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    try:
        data = _accident_in(form, "+05:00")
        accident, _created = service.report_accident(
            db=db,
            actor=actor,
            data=data,
            idempotency_key=(str(form.get("idempotency_key") or "")[:100] or None),
        )
        for f in files:
            service.add_attachment(
                db=db,
                actor=actor,
                accident_id=accident.id,
                filename=f.filename or "file",
                content=await f.read(),
            )
    except (ValidationError, DomainError) as exc:
        db.rollback()
        ctx = _form_ctx(db, actor, errors=_errors(exc), values=dict(form))
        return render(request, "incidents/report.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/incidents/{accident.id}", status_code=303)


@router.get("/incidents/overdue", response_class=HTMLResponse)
def overdue_page(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    mine: bool = True,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    inspector = actor.id if actor.role is Role.LABOUR_INSPECTOR and mine else None
    items, total = service.overdue(
        db=db,
        actor=actor,
        params=PageParams(page=page, size=50),
        inspector_id=inspector,
        enterprise_id=actor.enterprise_id,
    )
    ctx = _ctx(
        items=items,
        total=total,
        page=page,
        pages=max(1, -(-total // 50)),
        mine=mine,
        is_inspector=actor.role is Role.LABOUR_INSPECTOR,
    )
    return render(request, "incidents/overdue.html", ctx, actor=actor)


@router.get("/incidents/hazards", response_class=HTMLResponse)
def hazard_inbox(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    items, total = hazards.list_hazards(db=db, actor=actor, params=PageParams(page=page, size=25))
    ctx = _ctx(items=items, total=total, page=page, pages=max(1, -(-total // 25)))
    return render(request, "incidents/hazards.html", ctx, actor=actor)


@router.post("/incidents/hazards/{hazard_id}", response_class=HTMLResponse)
async def hazard_update(
    request: Request, hazard_id: int, db: DbDep, actor: FormActorDep
) -> Response:
    form = await request.form()
    status = str(form.get("status", ""))
    if status not in ("new", "acknowledged", "resolved"):
        status = "new"
    hazards.set_status(
        db=db,
        actor=actor,
        hazard_id=hazard_id,
        status=status,
        note=str(form.get("note", ""))[:1000],
    )
    return RedirectResponse("/incidents/hazards", status_code=303)


@router.get("/incidents/{accident_id}", response_class=HTMLResponse)
def accident_card(request: Request, accident_id: int, db: DbDep, actor: PageActorDep) -> Any:
    acc = service.get_accident(db=db, actor=actor, accident_id=accident_id)
    inv = investigation.get_investigation(db=db, actor=actor, accident_id=accident_id)
    history = service.history(db=db, actor=actor, accident_id=accident_id)
    ctx = _ctx(
        acc=acc,
        inv=inv,
        ent=registry.get_enterprise(db=db, actor=actor, enterprise_id=acc.enterprise_id),
        deadlines=service.accident_deadlines(db=db, actor=actor, accident_id=accident_id),
        notes=service.notifications(db=db, actor=actor, accident_id=accident_id),
        actions=investigation.actions(db=db, actor=actor, accident_id=accident_id),
        acts=acts.list_acts(db=db, actor=actor, accident_id=accident_id),
        files=service.attachments(db=db, actor=actor, accident_id=accident_id),
        history=list(reversed(history)),
        causes=coding.causes(),
        today=datetime.now(KZ_TZ).date(),
        max_extension=MAX_EXTENSION_WORKING_DAYS - inv.extension_days,
        can_investigate=actor.can("incidents.investigate")
        and (inv.kind == "standard" or actor.role in (Role.LABOUR_INSPECTOR, Role.ADMIN)),
        can_sign=actor.can("incidents.sign"),
        can_revise=actor.can(REPORT),
        can_register=actor.can("incidents.register"),
        errors=request.query_params.getlist("error"),
    )
    return render(request, "incidents/accident.html", ctx, actor=actor)


def _members(text: str) -> list[MemberIn]:
    out = []
    for i, line in enumerate(x for x in text.splitlines() if x.strip()):
        name, _, position = line.partition(";")
        out.append(MemberIn(name=name.strip(), position=position.strip() or "—", chair=i == 0))
    return out


def _revision(acc: Any, form: Any) -> AccidentRevise:
    """Only the fields the form really changes, so the revision's diff shows just those."""
    data: dict[str, Any] = {"reason": str(form.get("reason", ""))}
    for key in ("severity", "circumstances"):
        value = str(form.get(key, "")).replace("\r\n", "\n").strip()
        if value and value != (getattr(acc, key) or "").strip():
            data[key] = value
    return AccidentRevise.model_validate(data)


async def _step(request: Request, db: Any, actor: Any, accident_id: int, step: str) -> None:
    form = await request.form()
    if step == "commission":
        data = CommissionIn(members=_members(str(form.get("members", ""))))
        investigation.form_commission(db=db, actor=actor, accident_id=accident_id, data=data)
    elif step == "findings":
        findings = FindingsIn(
            findings=str(form.get("findings", "")),
            causes=form.getlist("causes"),
            fault_employer_pct=int(form.get("fault_employer_pct") or 0),
            fault_worker_pct=int(form.get("fault_worker_pct") or 0),
            reason=str(form.get("reason") or "initial findings"),
        )
        investigation.record_findings(db=db, actor=actor, accident_id=accident_id, data=findings)
    elif step == "revise":
        revise = _revision(service.get_accident(db=db, actor=actor, accident_id=accident_id), form)
        service.revise_accident(db=db, actor=actor, accident_id=accident_id, data=revise)
    elif step == "extension":
        ext = ExtensionIn(
            working_days=int(form.get("working_days") or 0), reason=str(form.get("reason", ""))
        )
        investigation.extend(db=db, actor=actor, accident_id=accident_id, data=ext)
    elif step == "action":
        action = ActionIn.model_validate(
            {k: str(form.get(k, "")) for k in ("description", "owner", "due_date")}
        )
        investigation.add_action(db=db, actor=actor, accident_id=accident_id, data=action)
    elif step == "action-done":
        action_id = int(form.get("action_id") or 0)
        investigation.complete_action(
            db=db, actor=actor, accident_id=accident_id, action_id=action_id
        )
    elif step == "sign":
        reason = SignIn(reason=str(form.get("reason") or "initial act")).reason
        acts.sign_act(db=db, actor=actor, accident_id=accident_id, reason=reason)
    elif step == "register":
        acts.register_act(db=db, actor=actor, accident_id=accident_id)


@router.post("/incidents/{accident_id}/{step}", response_class=HTMLResponse)
async def workflow_step(
    request: Request, accident_id: int, step: str, db: DbDep, actor: FormActorDep
) -> Response:
    target = f"/incidents/{accident_id}"
    try:
        await _step(request, db, actor, accident_id, step)
    except (ValidationError, DomainError, ValueError) as exc:
        db.rollback()
        from urllib.parse import urlencode

        return RedirectResponse(
            f"{target}?{urlencode([('error', e) for e in _errors(exc)])}", status_code=303
        )
    return RedirectResponse(target, status_code=303)


# --- public, no login ------------------------------------------------------------------------


@router.get("/hazard", response_class=HTMLResponse)
def hazard_form(
    request: Request, actor: OptionalPageActorDep, bin: Annotated[str, Query(max_length=12)] = ""
) -> HTMLResponse:
    return render(
        request, "incidents/hazard.html", _ctx(bin=bin, done=None, errors=[]), actor=actor
    )


@router.post("/hazard", response_class=HTMLResponse)
async def hazard_submit(request: Request, db: DbDep, actor: OptionalPageActorDep) -> Response:
    """The no-JavaScript path; the page's script posts to the API (and queues offline)."""
    form = await request.form()
    photo = form.get("photo")
    content = await photo.read() if isinstance(photo, UploadFile) and photo.filename else b""
    try:
        done = hazards.submit_hazard(
            db=db,
            client=request.client.host if request.client else "?",
            bin_=str(form.get("bin", "")),
            kind=str(form.get("kind", "")),
            description=str(form.get("description", "")),
            location=str(form.get("location", "")),
            photo=(photo.filename, content) if content else None,  # type: ignore[union-attr]
        )
    except DomainError as exc:
        db.rollback()
        ctx = _ctx(bin=form.get("bin", ""), done=None, errors=_errors(exc))
        return render(
            request, "incidents/hazard.html", ctx, actor=actor, status_code=exc.status_code
        )
    return render(
        request,
        "incidents/hazard.html",
        _ctx(bin="", done=done, errors=[]),
        actor=actor,
        status_code=201,
    )


@router.get("/hazard/status", response_class=HTMLResponse)
def hazard_status_page(
    request: Request,
    db: DbDep,
    actor: OptionalPageActorDep,
    code: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    report, missing = None, False
    if code:
        try:
            report = hazards.hazard_status(db=db, code=code)
        except DomainError:
            missing = True
    ctx = _ctx(report=report, code=code, missing=missing)
    return render(request, "incidents/hazard_status.html", ctx, actor=actor)


@router.get("/incidents-sw.js")
def service_worker() -> Response:
    from qorgau.core.config import PACKAGE_DIR

    body = (PACKAGE_DIR / "static" / "incidents-sw.js").read_bytes()
    return Response(
        body,
        media_type="application/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


@router.get("/hazard.webmanifest")
def manifest() -> Response:
    body = {
        "name": "qorgau — hazard report",
        "short_name": "qorgau",
        "start_url": "/hazard",
        "scope": "/hazard",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5fa5",
        "icons": [{"src": "/static/img/qorgau.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(json.dumps(body), media_type="application/manifest+json")
