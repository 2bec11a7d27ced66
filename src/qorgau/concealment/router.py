"""Concealment REST API: feeds, analysis runs, estimates, enterprise signals, cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from qorgau.concealment import cases, review, service
from qorgau.concealment.schemas import (
    BatchIn,
    BatchOut,
    CaseOut,
    CaseTransitionIn,
    EnterpriseSignalOut,
    EstimateOut,
    EvidenceOut,
    LinkResolutionIn,
    LinkResolutionOut,
    LinkReviewOut,
    PrecisionOut,
    RunIn,
    RunOut,
)
from qorgau.core.deps import ActorDep, DbDep
from qorgau.core.pagination import Page, PageParams

router = APIRouter(prefix="/api/v1/concealment", tags=["concealment"])
PageDep = Annotated[PageParams, Query()]
SourcePath = Annotated[str, Path(pattern="^[a-z_]{3,20}$")]
RegionFilter = Annotated[str | None, Query(pattern=r"^KZ-\d{2}$")]
SourceFilter = Annotated[str | None, Query(pattern="^[a-z_]{3,20}$")]


@router.post("/feeds/{source}/records", response_model=BatchOut)
def submit(source: SourcePath, data: BatchIn, db: DbDep, actor: ActorDep) -> BatchOut:
    """Whole batch or nothing; a 422 lists every bad row (index, field, reason)."""
    out = service.submit_evidence(db=db, actor=actor, source=source, rows=data.records)
    return BatchOut.model_validate(out)


@router.get("/evidence", response_model=Page[EvidenceOut])
def evidence(
    db: DbDep, actor: ActorDep, params: PageDep, source: str | None = None
) -> Page[EvidenceOut]:
    items, total = service.list_evidence(db=db, actor=actor, params=params, source=source)
    return Page(
        items=[EvidenceOut.model_validate(e) for e in items],
        total=total,
        page=params.page,
        size=params.size,
    )


@router.post("/runs", response_model=RunOut, status_code=201)
def run(data: RunIn, db: DbDep, actor: ActorDep) -> RunOut:
    r = service.run_analysis(db=db, actor=actor, as_of=data.as_of, since=data.since)
    return RunOut.model_validate(r)


@router.get("/estimates", response_model=list[EstimateOut])
def estimates(db: DbDep, actor: ActorDep, section: str | None = None) -> list[EstimateOut]:
    rows = service.region_estimates(db=db, actor=actor, section=section)
    return [EstimateOut.model_validate(r) for r in rows]


@router.get("/under-reporting")
def under_reporting(db: DbDep, actor: ActorDep) -> list[dict[str, object]]:
    return service.under_reporting_by_region(db=db, actor=actor)


@router.get("/enterprises", response_model=Page[EnterpriseSignalOut])
def enterprise_signals(db: DbDep, actor: ActorDep, params: PageDep) -> Page[EnterpriseSignalOut]:
    items, total = service.enterprise_signals(db=db, actor=actor, params=params)
    return Page(
        items=[EnterpriseSignalOut.model_validate(e) for e in items],
        total=total,
        page=params.page,
        size=params.size,
    )


@router.get("/cases", response_model=Page[CaseOut])
def list_cases(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    state: Annotated[str | None, Query(pattern="^(open|checking|confirmed|unfounded)$")] = None,
) -> Page[CaseOut]:
    items, total = cases.list_cases(db=db, actor=actor, params=params, state=state)
    return Page(
        items=[CaseOut.model_validate(c) for c in items],
        total=total,
        page=params.page,
        size=params.size,
    )


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int, db: DbDep, actor: ActorDep) -> CaseOut:
    case, _ = cases.get_case(db=db, actor=actor, case_id=case_id)
    return CaseOut.model_validate(case)


@router.get("/cases/{case_id}/evidence", response_model=list[EvidenceOut])
def case_evidence(case_id: int, db: DbDep, actor: ActorDep) -> list[EvidenceOut]:
    _, evidence = cases.get_case(db=db, actor=actor, case_id=case_id)
    return [EvidenceOut.model_validate(e) for e in evidence]


@router.post("/cases/{case_id}/transitions", response_model=CaseOut)
def transition(case_id: int, data: CaseTransitionIn, db: DbDep, actor: ActorDep) -> CaseOut:
    return CaseOut.model_validate(cases.transition(db=db, actor=actor, case_id=case_id, data=data))


@router.get("/precision", response_model=PrecisionOut)
def measured_precision(db: DbDep, actor: ActorDep) -> PrecisionOut:
    return PrecisionOut.model_validate(cases.precision(db=db, actor=actor))


def _review_out(item: review.Item) -> LinkReviewOut:
    r, e = item.review, item.evidence
    return LinkReviewOut(
        id=r.id, run_id=r.run_id, evidence_id=r.evidence_id, source=r.source,
        event_date=r.event_date, region_code=r.region_code, best_probability=r.best_probability,
        candidates=r.candidates, last_name=e.last_name, first_name=e.first_name,
        birth_date=e.birth_date,
        resolution=LinkResolutionOut.model_validate(item.resolution) if item.resolution else None,
    )  # fmt: skip


@router.get("/link-reviews", response_model=Page[LinkReviewOut])
def list_link_reviews(
    db: DbDep,
    actor: ActorDep,
    params: PageDep,
    region: RegionFilter = None,
    source: SourceFilter = None,
) -> Page[LinkReviewOut]:
    """Records the latest run left unlinked because candidates fit them about equally."""
    items, total, _ = review.list_items(
        db=db, actor=actor, params=params, region=region, source=source
    )
    return Page(
        items=[_review_out(i) for i in items], total=total, page=params.page, size=params.size
    )


@router.get("/link-reviews/{item_id}", response_model=LinkReviewOut)
def get_link_review(item_id: int, db: DbDep, actor: ActorDep) -> LinkReviewOut:
    return _review_out(review.get_item(db=db, actor=actor, item_id=item_id))


@router.get("/link-reviews/{item_id}/resolutions", response_model=list[LinkResolutionOut])
def link_review_history(item_id: int, db: DbDep, actor: ActorDep) -> list[LinkResolutionOut]:
    rows = review.history(db=db, actor=actor, item_id=item_id)
    return [LinkResolutionOut.model_validate(r) for r in rows]


@router.post(
    "/link-reviews/{item_id}/resolutions", response_model=LinkResolutionOut, status_code=201
)
def resolve_link_review(
    item_id: int, data: LinkResolutionIn, db: DbDep, actor: ActorDep
) -> LinkResolutionOut:
    """A new revision of the answer: the right candidate (worker_id) or none (null)."""
    answer = review.resolve(db=db, actor=actor, item_id=item_id, data=data)
    return LinkResolutionOut.model_validate(answer)
