"""The worker's own page: the safety instructions of their work, each confirmed "read and
understood" by the worker themselves. Phone-first; included by pages.py."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from qorgau.core.deps import DbDep
from qorgau.core.errors import Forbidden, RuleViolation
from qorgau.core.i18n import _
from qorgau.core.labels import N_
from qorgau.core.roles import Role
from qorgau.core.security import Actor
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.risk import service
from qorgau.risk.schemas import InstructionIn

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
