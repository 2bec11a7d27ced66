"""Risk pages: enterprise dashboard and register, assessment form and card, regulator view,
Vision Zero self-check. Forms post here (CSRF-checked) and call the service."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from qorgau.core.deps import DbDep
from qorgau.core.errors import Conflict, RuleViolation
from qorgau.core.i18n import get_language
from qorgau.core.labels import N_
from qorgau.core.roles import PERMISSIONS, Role
from qorgau.core.security import Actor
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.risk import permissions as perm
from qorgau.risk import service
from qorgau.risk.constants import (
    ActionStatus,
    ControlLevel,
    HazardType,
    Method,
    ReviewTrigger,
    RiskBand,
    Sector,
    label,
)
from qorgau.risk.content import load_vision_zero
from qorgau.risk.methods import FK_CONSEQUENCE, FK_EXPOSURE, FK_PROBABILITY
from qorgau.risk.schemas import ActionIn, AssessmentIn, ControlIn, HazardIn, VisionZeroIn

router = APIRouter(include_in_schema=False)
register_nav(N_("Risks"), "/risk", PERMISSIONS[perm.READ], order=40)

ENUMS = {
    "hazard": HazardType,
    "level": ControlLevel,
    "band": RiskBand,
    "method": Method,
    "trigger": ReviewTrigger,
    "status": ActionStatus,
    "sector": Sector,
}


def rlabel(kind: str, value: str | None) -> str:
    if not value:
        return ""
    try:
        return label(ENUMS[kind](value), get_language())
    except (KeyError, ValueError):
        return value


def _ctx(**kw: Any) -> dict[str, Any]:
    return {
        "rlabel": rlabel,
        "today": date.today(),
        "HazardType": HazardType,
        "ControlLevel": ControlLevel,
        **kw,
    }


def _error(exc: Exception) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        return {"field": ".".join(str(p) for p in err["loc"]), "msg": err["msg"]}
    if isinstance(exc, RuleViolation | Conflict):
        return {"field": exc.field or "", "msg": exc.message}
    raise exc


@router.get("/risk", response_class=HTMLResponse)
def risk_home(request: Request, actor: PageActorDep) -> Response:
    if actor.role == Role.WORKER:
        return RedirectResponse("/risk/my", status_code=303)
    if actor.enterprise_id is not None:
        return RedirectResponse(f"/risk/enterprises/{actor.enterprise_id}", status_code=303)
    if actor.can(perm.REGULATOR_VIEW):
        return RedirectResponse("/risk/regulator", status_code=303)
    return RedirectResponse("/", status_code=303)


@router.get("/risk/regulator", response_class=HTMLResponse)
def regulator(request: Request, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    view = service.regulator_view(db=db, actor=actor)
    return render(
        request, "risk/regulator.html", _ctx(v=view, bands=[b.value for b in RiskBand]), actor=actor
    )


@router.get("/risk/enterprises/{enterprise_id}", response_class=HTMLResponse)
def dashboard(request: Request, enterprise_id: int, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    can_write = actor.can(perm.WRITE) and actor.enterprise_id == enterprise_id
    return _dashboard(request, db, actor, enterprise_id, can_write=can_write)


def _dashboard(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    enterprise_id: int,
    *,
    can_write: bool,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    d = service.enterprise_dashboard(db=db, actor=actor, enterprise_id=enterprise_id)
    gap = service.instruction_gap(db=db, actor=actor, enterprise_id=enterprise_id)
    sector = service.sector_for(d["enterprise"])
    ctx = _ctx(
        d=d, gap=gap, sector=sector.value if sector else None, can_write=can_write, error=error
    )
    return render(request, "risk/dashboard.html", ctx, actor=actor, status_code=status)


@router.post("/risk/enterprises/{enterprise_id}/from-template")
def from_template(request: Request, enterprise_id: int, db: DbDep, actor: FormActorDep) -> Response:
    service.from_template(
        db=db, actor=actor, enterprise_id=enterprise_id, site_id=None, sector=None
    )
    return RedirectResponse(f"/risk/enterprises/{enterprise_id}", status_code=303)


def _form_scores(form: Any, prefix: str, method: str) -> dict[str, Any] | None:
    names = (
        ["likelihood", "severity"]
        if method == Method.MATRIX_5X5.value
        else ["probability", "exposure", "consequence"]
    )
    raw = {n: str(form.get(f"{prefix}{n}", "")).strip() for n in names}
    if prefix and not any(raw.values()):
        return None
    out: dict[str, Any] = {}
    for n, v in raw.items():
        try:
            out[n] = float(v) if "." in v else int(v)
        except ValueError:
            out[n] = v or None
    return out


def _form_controls(form: Any) -> list[ControlIn]:
    levels, texts = form.getlist("control_level"), form.getlist("control_text")
    instructed = set(form.getlist("control_instruction"))
    return [
        ControlIn(level=lv, text=t, requires_instruction=str(i) in instructed)
        for i, (lv, t) in enumerate(zip(levels, texts, strict=False))
        if str(t).strip()
    ]


def _new_ctx(db: Any, actor: Actor, enterprise_id: int, **kw: Any) -> dict[str, Any]:
    ent = service.enterprise_for_write(db, actor, enterprise_id)
    method = service.settings_of(db, ent.id).method
    scales = {"probability": FK_PROBABILITY, "exposure": FK_EXPOSURE, "consequence": FK_CONSEQUENCE}
    return _ctx(**{"ent": ent, "method": method, "scales": scales, "form": {}, "error": None, **kw})


@router.get("/risk/enterprises/{enterprise_id}/new", response_class=HTMLResponse)
def new_assessment(
    request: Request, enterprise_id: int, db: DbDep, actor: PageActorDep
) -> HTMLResponse:
    return render(request, "risk/new.html", _new_ctx(db, actor, enterprise_id), actor=actor)


@router.post("/risk/enterprises/{enterprise_id}/new", response_class=HTMLResponse)
async def create_assessment(
    request: Request, enterprise_id: int, db: DbDep, actor: FormActorDep
) -> Response:
    form = await request.form()
    ctx = _new_ctx(db, actor, enterprise_id, form=form)
    method = ctx["method"]
    try:
        hazard_in = HazardIn(
            enterprise_id=enterprise_id,
            hazard_type=form.get("hazard_type", ""),
            description=form.get("description", ""),
            workplace=form.get("workplace", ""),
            occupation=form.get("occupation", ""),
            exposed_groups=form.get("exposed_groups", ""),
            headcount=int(str(form.get("headcount") or 0))
            if str(form.get("headcount") or "0").isdigit()
            else -1,
        )
        initial = _form_scores(form, "", method)
        residual = _form_scores(form, "residual_", method)
        reason = str(form.get("residual_reason", ""))
        controls = _form_controls(form)
        # score first so a bad score writes nothing (not even the hazard)
        service.score(
            method,
            initial,
            residual,
            reason,
            service.criteria_of(service.settings_of(db, enterprise_id)),
        )
        hazard = service.create_hazard(db=db, actor=actor, data=hazard_in, commit=False)
        row = service.create_assessment(
            db=db,
            actor=actor,
            data=AssessmentIn(
                hazard_id=hazard.id,
                initial=initial or {},
                residual=residual,
                residual_reason=reason,
                controls=controls,
            ),
        )
    except (ValidationError, RuleViolation, Conflict) as exc:
        db.rollback()
        ctx["error"] = _error(exc)
        return render(request, "risk/new.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/risk/assessments/{row.id}", status_code=303)


@router.get("/risk/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment(
    request: Request, assessment_id: int, db: DbDep, actor: PageActorDep
) -> HTMLResponse:
    row = service.get_assessment(db=db, actor=actor, assessment_id=assessment_id)
    revs = service.revisions(db=db, actor=actor, assessment_id=assessment_id)
    ctx = _ctx(
        a=row,
        revs=revs,
        latest=revs[-1].id == row.id,
        can_write=actor.can(perm.WRITE),
        can_sign=actor.can(perm.SIGN),
        error=None,
    )
    return render(request, "risk/assessment.html", ctx, actor=actor)


@router.post("/risk/assessments/{assessment_id}/{op}")
async def assessment_op(
    request: Request, assessment_id: int, op: str, db: DbDep, actor: FormActorDep
) -> Response:
    form = await request.form()
    target = assessment_id
    try:
        if op == "sign":
            service.sign_assessment(db=db, actor=actor, assessment_id=assessment_id)
        elif op == "review":
            target = service.review_assessment(
                db=db,
                actor=actor,
                assessment_id=assessment_id,
                trigger=ReviewTrigger(str(form.get("trigger"))).value,
                note=str(form.get("note", ""))[:1000],
            ).id
        elif op == "control":
            service.add_control(
                db=db,
                actor=actor,
                assessment_id=assessment_id,
                data=ControlIn(
                    level=form.get("level", ""),
                    text=form.get("text", ""),
                    requires_instruction=bool(form.get("requires_instruction")),
                ),
            )
        else:
            raise RuleViolation("unknown operation", field="op")
    except (ValidationError, ValueError, RuleViolation, Conflict) as exc:
        db.rollback()
        row = service.get_assessment(db=db, actor=actor, assessment_id=assessment_id)
        revs = service.revisions(db=db, actor=actor, assessment_id=assessment_id)
        err = _error(exc) if type(exc) is not ValueError else {"field": "trigger", "msg": str(exc)}
        ctx = _ctx(
            a=row,
            revs=revs,
            latest=revs[-1].id == row.id,
            can_write=actor.can(perm.WRITE),
            can_sign=actor.can(perm.SIGN),
            error=err,
        )
        return render(request, "risk/assessment.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/risk/assessments/{target}", status_code=303)


@router.post("/risk/enterprises/{enterprise_id}/actions", response_class=HTMLResponse)
async def add_action(
    request: Request, enterprise_id: int, db: DbDep, actor: FormActorDep
) -> Response:
    form = await request.form()
    try:
        service.create_action(
            db=db,
            actor=actor,
            data=ActionIn(
                enterprise_id=enterprise_id,
                title=form.get("title", ""),
                owner=form.get("owner", ""),
                due_date=form.get("due_date") or None,
                kind=form.get("kind") or "corrective",
                hazard_id=int(str(form.get("hazard_id")))
                if str(form.get("hazard_id") or "").isdigit()
                else None,
            ),
        )
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        return _dashboard(
            request, db, actor, enterprise_id, can_write=True, error=_error(exc), status=422
        )
    return RedirectResponse(f"/risk/enterprises/{enterprise_id}#actions", status_code=303)


@router.get("/risk/enterprises/{enterprise_id}/vision-zero", response_class=HTMLResponse)
def vision_zero(
    request: Request, enterprise_id: int, db: DbDep, actor: PageActorDep
) -> HTMLResponse:
    ent = service.enterprise_for_read(db, actor, enterprise_id)
    trend = service.vision_zero_trend(db=db, actor=actor, enterprise_id=enterprise_id)
    ctx = _ctx(
        ent=ent,
        trend=trend,
        vz=load_vision_zero(),
        lang=get_language(),
        can_write=actor.can(perm.WRITE) and actor.enterprise_id == enterprise_id,
        error=None,
    )
    return render(request, "risk/vision_zero.html", ctx, actor=actor)


@router.post("/risk/enterprises/{enterprise_id}/vision-zero", response_class=HTMLResponse)
async def vision_zero_submit(
    request: Request, enterprise_id: int, db: DbDep, actor: FormActorDep
) -> Response:
    form = await request.form()
    answers = {
        k[2:]: int(str(v)) for k, v in form.items() if k.startswith("q_") and str(v).isdigit()
    }
    try:
        service.submit_vision_zero(
            db=db, actor=actor, data=VisionZeroIn(enterprise_id=enterprise_id, answers=answers)
        )
    except (ValidationError, RuleViolation) as exc:
        db.rollback()
        ent = service.enterprise_for_read(db, actor, enterprise_id)
        trend = service.vision_zero_trend(db=db, actor=actor, enterprise_id=enterprise_id)
        ctx = _ctx(
            ent=ent,
            trend=trend,
            vz=load_vision_zero(),
            lang=get_language(),
            can_write=True,
            error=_error(exc),
        )
        return render(request, "risk/vision_zero.html", ctx, actor=actor, status_code=422)
    return RedirectResponse(f"/risk/enterprises/{enterprise_id}/vision-zero", status_code=303)


# The worker's own instruction page (module of its own; same router for the app).
from qorgau.risk.pages_worker import router as _worker_pages  # noqa: E402

router.include_router(_worker_pages)
