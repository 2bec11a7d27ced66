"""Concealment pages: the inspector's ranked case queue, a case with its explanation and
workflow, enterprises ranked by expected vs observed injuries, the capture–recapture estimates
per region and sector, the hospital clerk's CSV/XLSX upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from qorgau.concealment import cases, feeds, review, service, views
from qorgau.concealment import constants as C
from qorgau.concealment.exceptions import BatchRejected
from qorgau.concealment.schemas import CaseTransitionIn, LinkResolutionIn
from qorgau.core.deps import DbDep
from qorgau.core.errors import DomainError, RuleViolation
from qorgau.core.i18n import localized_name
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.roles import PERMISSIONS
from qorgau.core.security import Actor
from qorgau.core.web import FormActorDep, PageActorDep, register_nav, render
from qorgau.registry import service as registry

router = APIRouter(include_in_schema=False)
register_nav(N_("Concealment cases"), "/concealment", PERMISSIONS[C.READ_CASES], order=45)
register_nav(N_("Submit trauma visits"), "/concealment/upload", {C.R.HOSPITAL_CLERK}, order=46)
# Case readers reach the estimates from the case queue's tabs; the akimat and the industry
# ministry read only the aggregates, so they get the estimates in the main navigation.
register_nav(
    N_("Under-reporting estimates"),
    "/concealment/estimates",
    PERMISSIONS[C.READ_ESTIMATES] - PERMISSIONS[C.READ_CASES],
    order=47,
)
RegionQuery = Annotated[str, Query(pattern=r"^(KZ-\d{2})?$")]
SectionQuery = Annotated[str, Query(pattern="^[A-U]?$")]
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
SourceQuery = Annotated[str, Query(pattern="^[a-z_]{0,20}$")]
SIGNALS_PER_PAGE = 20
REVIEW_PER_PAGE = 20


def _tabs(actor: Actor) -> list[tuple[str, str]]:
    """The concealment pages this caller may open, for the tab row above each of them."""
    tabs = []
    if actor.can(C.READ_CASES):
        tabs += [
            ("/concealment", N_("Cases")),
            ("/concealment/enterprises", N_("Enterprises")),
            ("/concealment/links", N_("Ambiguous links")),
        ]
    if actor.can(C.READ_ESTIMATES):
        tabs.append(("/concealment/estimates", N_("Estimates")))
    return tabs


def _filters(db: DbDep, actor: Actor) -> dict[str, object]:
    """Regions within the caller's scope and the OKED sections, for the filter selects."""
    regions = [r for r in registry.regions(db=db) if actor.region in (None, r.iso)]
    sections = registry.activities(db=db, level="section")
    return {
        "regions": regions,
        "region_names": {r.iso: localized_name(r) for r in regions},
        "sections": sections,
        "section_names": {s.code: localized_name(s) for s in sections},
    }


@router.get("/concealment", response_class=HTMLResponse)
def queue(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    state: Annotated[str | None, Query(pattern="^(open|checking|confirmed|unfounded)?$")] = None,
    enterprise: Annotated[int | None, Query(ge=1)] = None,
    page: PageQuery = 1,
) -> HTMLResponse:
    params = PageParams(page=page, size=25)
    items, total = cases.list_cases(
        db=db, actor=actor, params=params, state=state or None, enterprise_id=enterprise
    )
    ctx = {
        "tabs": _tabs(actor),
        "enterprise": enterprise,
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


@router.get("/concealment/enterprises", response_class=HTMLResponse)
def enterprise_signals(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    region: RegionQuery = "",
    section: SectionQuery = "",
    page: PageQuery = 1,
) -> HTMLResponse:
    """Enterprises ranked by how improbable their few reported injuries are (stored run)."""
    params = PageParams(page=page, size=SIGNALS_PER_PAGE)
    rows, total, run = views.enterprise_signal_page(
        db=db, actor=actor, params=params, region=region or None, section=section or None
    )
    ctx = {
        **_filters(db, actor),
        "tabs": _tabs(actor),
        "rows": rows,
        "total": total,
        "run": run,
        "national": views.national_rate(db, run.id) if run else None,
        "region": region,
        "section": section,
        "page": page,
        "first": (page - 1) * SIGNALS_PER_PAGE + 1,
        "pages": max(1, -(-total // SIGNALS_PER_PAGE)),
        "bands": views.SIZE_BAND_LABELS,
    }
    return render(request, "concealment/enterprises.html", ctx, actor=actor)


@router.get("/concealment/estimates", response_class=HTMLResponse)
def estimates(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    region: RegionQuery = "",
    section: SectionQuery = "",
) -> HTMLResponse:
    """Capture–recapture estimates of the true number of work injuries (stored run)."""
    by_region, by_section, run = views.estimate_tables(
        db=db, actor=actor, region=region or None, section=section or None
    )
    ctx = {
        **_filters(db, actor),
        "tabs": _tabs(actor),
        "by_region": by_region,
        "by_section": by_section,
        "run": run,
        "region": region,
        "section": section,
        "methods": views.METHOD_LABELS,
    }
    return render(request, "concealment/estimates.html", ctx, actor=actor)


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


@router.get("/concealment/links", response_class=HTMLResponse)
def link_review(
    request: Request,
    db: DbDep,
    actor: PageActorDep,
    region: RegionQuery = "",
    source: SourceQuery = "",
    page: PageQuery = 1,
) -> HTMLResponse:
    """Evidence the latest run could not link because candidates fit it about equally."""
    params = PageParams(page=page, size=REVIEW_PER_PAGE)
    items, total, run = review.list_items(
        db=db, actor=actor, params=params, region=region or None, source=source or None
    )
    people, employers = review.candidate_details(db, items)
    ctx = {
        **_filters(db, actor),
        # a candidate's employer may lie in another region: name every region
        "all_region_names": {r.iso: localized_name(r) for r in registry.regions(db=db)},
        "tabs": _tabs(actor),
        "items": items,
        "people": people,
        "employers": employers,
        "total": total,
        "run": run,
        "region": region,
        "source": source,
        "sources": {k: C.SOURCE_LABELS[k] for k in C.SOURCES},
        "page": page,
        "pages": max(1, -(-total // REVIEW_PER_PAGE)),
        "can_decide": actor.can(C.DECIDE),
    }
    return render(request, "concealment/links.html", ctx, actor=actor)


@router.post("/concealment/links/{item_id}/resolve")
def link_resolve(
    item_id: int,
    db: DbDep,
    actor: FormActorDep,
    worker: Annotated[str, Form(pattern=r"^(none|\d{1,12})$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> RedirectResponse:
    try:
        data = LinkResolutionIn(worker_id=None if worker == "none" else int(worker), reason=reason)
    except ValidationError as exc:
        raise RuleViolation("give the reason (at least 3 characters)", field="reason") from exc
    review.resolve(db=db, actor=actor, item_id=item_id, data=data)
    return RedirectResponse(f"/concealment/links#item-{item_id}", status_code=303)


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
