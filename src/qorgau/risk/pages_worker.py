"""The worker's own page (the safety instructions of their work, each confirmed "read and
understood" by the worker themselves) and the OSH officer's inputs page (hours worked, near
misses, worker-account links). Phone-first; included by pages.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from qorgau.core.deps import DbDep
from qorgau.core.errors import Conflict, Forbidden, NotFound, RuleViolation
from qorgau.core.i18n import _
from qorgau.core.labels import N_
from qorgau.core.roles import Role
from qorgau.core.security import Actor
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.risk import service, workers
from qorgau.risk.schemas import HoursIn, InstructionIn, NearMissIn, WorkerLinkIn

router = APIRouter(include_in_schema=False)
# The worker reads these on a phone in their own language; the API's English stays for others.
_MESSAGES = {
    "understood": N_("Tick “I have read and understood” first."),
    "hazard_id": N_("This instruction is not part of your work."),
    "worker_id": N_("Your account is not linked to your employee record."),
}
register_nav(N_("My instructions"), "/risk/my", {Role.WORKER}, order=39)


def _page(
    request: Request,
    db: DbDep,
    actor: Actor,
    *,
    done: int | None = None,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    from qorgau.risk.pages import _ctx  # the shared label helpers of the risk pages

    view = service.my_instructions(db=db, actor=actor)
    todo = sum(1 for i in view["items"] if i["state"] != "current")
    ctx = _ctx(worker=view["worker"], items=view["items"], todo=todo, done=done, error=error)
    return render(request, "risk/my_instructions.html", ctx, actor=actor, status_code=status)


@router.get("/risk/my", response_class=HTMLResponse)
def my_instructions(
    request: Request, db: DbDep, actor: PageActorDep, done: int | None = None
) -> HTMLResponse:
    return _page(request, db, actor, done=done)


@router.post("/risk/my/{hazard_id}/confirm", response_class=HTMLResponse)
async def confirm(request: Request, hazard_id: int, db: DbDep, actor: FormActorDep) -> Response:
    form = await request.form()
    try:
        if form.get("understood") != "yes":
            raise RuleViolation("read and understood is not ticked", field="understood")
        service.confirm_instruction(db=db, actor=actor, data=InstructionIn(hazard_id=hazard_id))
    except (RuleViolation, Forbidden) as exc:
        db.rollback()
        known = _MESSAGES.get(exc.field or "")
        err = {"field": "", "msg": _(known) if known else exc.message}
        return _page(request, db, actor, error=err, status=422)
    return RedirectResponse(f"/risk/my?done={hazard_id}#h{hazard_id}", status_code=303)


# --- the OSH officer's inputs: hours worked, near misses, worker-account links ------------------


def _inputs_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    enterprise_id: int,
    *,
    error: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    from qorgau.risk.pages import _ctx

    ent = service.enterprise_for_write(db, actor, enterprise_id)
    ctx = _ctx(
        ent=ent,
        hours=service.hours_worked(db=db, actor=actor, enterprise_id=ent.id)[:12],
        near_misses=service.list_near_misses(db=db, actor=actor, enterprise_id=ent.id, limit=20),
        links=service.list_worker_accounts(db=db, actor=actor, enterprise_id=ent.id),
        link_options=workers.link_options(db=db, enterprise_id=ent.id),
        maturity=service.maturity(db=db, actor=actor, enterprise_id=ent.id),
        error=error,
    )
    return render(request, "risk/inputs.html", ctx, actor=actor, status_code=status)


@router.get("/risk/enterprises/{enterprise_id}/inputs", response_class=HTMLResponse)
def inputs(request: Request, enterprise_id: int, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    return _inputs_page(request, db, actor, enterprise_id)


def _int(value: object) -> int | None:
    return int(str(value)) if str(value or "").isdigit() else None


@router.post("/risk/enterprises/{enterprise_id}/inputs/{kind}", response_class=HTMLResponse)
async def inputs_post(
    request: Request, enterprise_id: int, kind: str, db: DbDep, actor: FormActorDep
) -> Response:
    form = await request.form()
    try:
        if kind == "hours":
            year, _sep, month = str(form.get("period", "")).partition("-")
            service.record_hours(
                db=db,
                actor=actor,
                enterprise_id=enterprise_id,
                data=HoursIn(
                    year=_int(year) or 0,
                    month=_int(month) or 0,
                    hours=str(form.get("hours") or "-1"),
                    note=str(form.get("note", "")),
                ),
            )
        elif kind == "near-miss":
            service.report_near_miss(
                db=db,
                actor=actor,
                data=NearMissIn(
                    enterprise_id=enterprise_id,
                    occurred_on=form.get("occurred_on") or None,
                    hazard_type=form.get("hazard_type", ""),
                    potential_severity=form.get("potential_severity", ""),
                    description=form.get("description", ""),
                ),
            )
        elif kind == "link":
            service.link_worker_account(
                db=db,
                actor=actor,
                data=WorkerLinkIn(
                    user_id=_int(form.get("user_id")) or 0,
                    worker_id=_int(form.get("worker_id")) or 0,
                ),
            )
        elif kind == "unlink":
            service.unlink_worker_account(
                db=db, actor=actor, link_id=_int(form.get("link_id")) or 0
            )
        else:
            raise RuleViolation("unknown form", field="kind")
    except (ValidationError, RuleViolation, Conflict, NotFound) as exc:
        db.rollback()
        if isinstance(exc, ValidationError):
            e = exc.errors()[0]
            err = {"field": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
        else:
            err = {"field": exc.field or "", "msg": exc.message}
        return _inputs_page(request, db, actor, enterprise_id, error=err, status=422)
    return RedirectResponse(f"/risk/enterprises/{enterprise_id}/inputs", status_code=303)
