"""Concealment pages: the inspector's ranked case queue, a case with its explanation and
workflow, the hospital clerk's CSV/XLSX upload, regional under-reporting estimates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from qorgau.concealment import cases, feeds, service
from qorgau.concealment import constants as C
from qorgau.concealment.exceptions import BatchRejected
from qorgau.concealment.schemas import CaseTransitionIn
from qorgau.core.deps import DbDep
from qorgau.core.errors import DomainError
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render

router = APIRouter(include_in_schema=False)
register_nav(N_("Concealment cases"), "/concealment", PERMISSIONS[C.READ_CASES], order=45)
register_nav(N_("Submit trauma visits"), "/concealment/upload", {C.R.HOSPITAL_CLERK}, order=46)


@router.get("/concealment", response_class=HTMLResponse)
def queue(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    state: Annotated[str | None, Query(pattern="^(open|checking|confirmed|unfounded)?$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=25)
    items, total = cases.list_cases(db=db, actor=actor, params=params, state=state or None)
    ctx = {
        "items": items,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // 25)),
        "state": state or "",
        "states": C.STATE_LABELS,
        "kinds": C.CASE_KINDS,
        "precision": cases.precision(db=db, actor=actor),
        "estimates": service.under_reporting_by_region(db=db, actor=actor),
    }
    return render(request, "concealment/queue.html", ctx, actor=actor)


@router.get("/concealment/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int, db: DbDep, actor: PageActorDep) -> HTMLResponse:
    case, evidence = cases.get_case(db=db, actor=actor, case_id=case_id)
    ctx = {
        "case": case,
        "evidence": evidence,
        "states": C.STATE_LABELS,
        "kinds": C.CASE_KINDS,
        "sources": C.SOURCE_LABELS,
        "next_states": C.CASE_STATES[case.state],
        "history": cases.history(db=db, actor=actor, case_id=case_id),
        "can_decide": actor.can(C.DECIDE),
    }
    return render(request, "concealment/case.html", ctx, actor=actor)


@router.post("/concealment/cases/{case_id}/transition")
def case_transition(
    case_id: int,
    db: DbDep,
    actor: FormActorDep,
    to_state: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    data = CaseTransitionIn(to_state=to_state, note=note)
    cases.transition(db=db, actor=actor, case_id=case_id, data=data)
    return RedirectResponse(f"/concealment/cases/{case_id}", status_code=303)


@router.get("/concealment/upload", response_class=HTMLResponse)
def upload_form(request: Request, actor: PageActorDep) -> HTMLResponse:
    actor.require(C.SUBMIT)
    return render(request, "concealment/upload.html", {"result": None, "errors": []}, actor=actor)


@router.post("/concealment/upload", response_class=HTMLResponse)
async def upload(
    request: Request, db: DbDep, actor: FormActorDep, file: Annotated[UploadFile, File()]
) -> HTMLResponse:
    content = await file.read()
    result, errors = None, []
    try:
        rows = feeds.parse_upload(file.filename or "feed.csv", content)
        result = service.submit_evidence(db=db, actor=actor, source="trauma_visit", rows=rows)
    except BatchRejected as exc:
        errors = exc.errors
    except (DomainError, ValueError, UnicodeDecodeError) as exc:
        errors = [{"index": "-", "field": "file", "reason": str(exc)}]
    ctx = {"result": result, "errors": errors}
    return render(
        request, "concealment/upload.html", ctx, actor=actor, status_code=422 if errors else 200
    )
