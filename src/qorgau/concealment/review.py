"""Review queue of ambiguous links: evidence a run left unlinked because two or more registry
workers fit it about equally (worker_links.rank_links). The run stores each such record with its
candidates; an inspector of the record's region picks the right worker or "none of these" with
a reason. Answers are revisions (never overwritten) and audited; the next run links by the
latest revision as surely as by a confirmed IIN (worker_links.link_and_review)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from qorgau.concealment import constants as C
from qorgau.concealment import service, signals
from qorgau.concealment.models import AnalysisRun, EvidenceRecord, LinkResolution, LinkReview
from qorgau.concealment.schemas import LinkResolutionIn
from qorgau.core import audit
from qorgau.core.errors import Conflict, NotFound, RuleViolation
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.security import Actor, in_scope, scoped


class ReviewItemNotFound(NotFound):
    """Unknown, or outside the caller's region (the two are not told apart)."""

    def __init__(self) -> None:
        super().__init__("review item not found", field="item_id")

    def to_dict(self) -> dict[str, object]:
        return {"detail": [{"loc": ["path", "item_id"], "msg": self.message, "type": self.code}]}


# ---------------------------------------------------------------- written by the run


def store(db: Session, run_id: int, res: signals.PipelineResult) -> int:
    """One row per ambiguous record of the run, its candidates best first. The record's region
    is its own (employer BIN or submitter); failing that, the candidates' common region."""
    rv = res.review
    if rv.height == 0:
        return 0
    ev = res.evidence.select(
        pl.col("id").alias("evidence_id"), "source", "event_date", pl.col("region_code").alias("r")
    )
    rv = rv.join(ev, on="evidence_id", how="left")
    rows = []
    for (evidence_id,), cands in rv.group_by("evidence_id", maintain_order=True):
        meta = cands.row(0, named=True)
        regions = set(cands["region_code"].to_list())
        rows.append(
            {
                "run_id": run_id,
                "evidence_id": evidence_id,
                "source": meta["source"],
                "event_date": meta["event_date"],
                "region_code": meta["r"] or (regions.pop() if len(regions) == 1 else None),
                "best_probability": float(cands["probability"].max()),
                "candidates": [
                    {
                        "worker_id": c["worker_id"],
                        "weight": round(c["weight"], 3),
                        "probability": round(c["probability"], 4),
                        "enterprise_id": c["enterprise_id"],
                        "region_code": c["region_code"],
                    }
                    for c in cands.iter_rows(named=True)
                ],
            }
        )
    db.execute(insert(LinkReview), rows)
    return len(rows)


def resolved_frame(db: Session) -> pl.DataFrame:
    """The latest revision of every answer (evidence_id, worker_id; null = none of these)."""
    R = LinkResolution
    latest = select(R.evidence_id, func.max(R.revision).label("rev")).group_by(R.evidence_id)
    latest = latest.subquery()
    rows = db.execute(
        select(R.evidence_id, R.worker_id).join(
            latest, (latest.c.evidence_id == R.evidence_id) & (latest.c.rev == R.revision)
        )
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"evidence_id": pl.Int64, "worker_id": pl.Int64},
        orient="row",
    )


# ---------------------------------------------------------------- read by inspectors


@dataclass(frozen=True)
class Item:
    review: LinkReview
    evidence: EvidenceRecord
    resolution: LinkResolution | None  # latest revision, if answered


def list_items(
    *,
    db: Session,
    actor: Actor,
    params: PageParams,
    region: str | None = None,
    source: str | None = None,
) -> tuple[list[Item], int, AnalysisRun | None]:
    """The latest run's ambiguous records in the caller's region, oldest event first; the
    read shows names and birth dates, so it is audited."""
    actor.require(C.READ_CASES)
    run = service.latest_run(db)
    if run is None:
        return [], 0, None
    stmt = scoped(select(LinkReview), LinkReview, actor).where(LinkReview.run_id == run.id)
    if region:
        stmt = stmt.where(LinkReview.region_code == region)
    if source:
        stmt = stmt.where(LinkReview.source == source)
    page, total = paginate(db, stmt.order_by(LinkReview.event_date, LinkReview.id), params)
    items = _items(db, page)
    audit.record(
        db,
        actor=actor,
        action="link_review.list",
        object_type="link_review",
        object_id=",".join(str(r.id) for r in page[:50]) or "-",
        after={"region": region, "source": source, "count": len(page)},
    )
    db.commit()
    return items, total, run


def _items(db: Session, page: list[LinkReview]) -> list[Item]:
    ids = [r.evidence_id for r in page]
    stmt = select(EvidenceRecord).where(EvidenceRecord.id.in_(ids))
    evidence = {e.id: e for e in db.scalars(stmt)}
    latest = _latest(db, ids)
    return [Item(r, evidence[r.evidence_id], latest.get(r.evidence_id)) for r in page]


def _latest(db: Session, evidence_ids: list[int]) -> dict[int, LinkResolution]:
    out: dict[int, LinkResolution] = {}
    stmt = (
        select(LinkResolution)
        .where(LinkResolution.evidence_id.in_(evidence_ids))
        .order_by(LinkResolution.revision)
    )
    for r in db.scalars(stmt):
        out[r.evidence_id] = r  # the last one wins
    return out


def _get(db: Session, actor: Actor, item_id: int) -> LinkReview:
    item = db.get(LinkReview, item_id)
    if item is None or not in_scope(item, actor):
        raise ReviewItemNotFound()
    return item


def get_item(*, db: Session, actor: Actor, item_id: int) -> Item:
    actor.require(C.READ_CASES)
    [item] = _items(db, [_get(db, actor, item_id)])
    audit.record(
        db,
        actor=actor,
        action="link_review.read",
        object_type="link_review",
        object_id=item_id,
        after={"evidence": item.review.evidence_id},
    )
    db.commit()
    return item


def history(*, db: Session, actor: Actor, item_id: int) -> list[LinkResolution]:
    """Every revision of the answer for the item's record, oldest first."""
    actor.require(C.READ_CASES)
    item = _get(db, actor, item_id)
    stmt = select(LinkResolution).where(LinkResolution.evidence_id == item.evidence_id)
    return list(db.scalars(stmt.order_by(LinkResolution.revision)))


def candidate_details(
    db: Session, items: list[Item]
) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """Names, birth dates and masked IINs of the items' candidate workers, and the names of
    their employers on the event date: what tells candidates apart on the page. Read by id
    (a candidate may work in another region); the item read itself is scoped and audited."""
    from qorgau.registry.models import Enterprise, Worker

    wids = {c["worker_id"] for i in items for c in i.review.candidates}
    eids = {c["enterprise_id"] for i in items for c in i.review.candidates} - {None}
    people = {
        w.id: {
            "name": f"{w.last_name} {w.first_name} {w.patronymic}".strip(),
            "birth_date": w.birth_date,
            "iin_masked": w.iin_masked,
        }
        for w in db.scalars(select(Worker).where(Worker.id.in_(wids)))
    }
    stmt = select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(eids))
    names = {eid: name for eid, name in db.execute(stmt)}
    return people, names


# ---------------------------------------------------------------- answered by inspectors


def resolve(*, db: Session, actor: Actor, item_id: int, data: LinkResolutionIn) -> LinkResolution:
    """A new revision of the answer for the item's record: one of the item's candidates or
    none (worker_id null). Audited with the previous answer as `before`."""
    actor.require(C.DECIDE)
    item = _get(db, actor, item_id)
    allowed = {c["worker_id"] for c in item.candidates}
    if data.worker_id is not None and data.worker_id not in allowed:
        raise RuleViolation(
            f"worker {data.worker_id} is not a candidate of this record; "
            f"expected one of {sorted(allowed)} or null",
            field="worker_id",
        )
    prev = _latest(db, [item.evidence_id]).get(item.evidence_id)
    answer = LinkResolution(
        evidence_id=item.evidence_id,
        review_id=item.id,
        revision=(prev.revision if prev else 0) + 1,
        worker_id=data.worker_id,
        reason=data.reason,
        region_code=item.region_code,
        actor=actor.label,
    )
    db.add(answer)
    try:
        db.flush()
    except IntegrityError as exc:  # another answer to the same record landed first
        db.rollback()
        raise Conflict("the record was answered meanwhile; reload", field="worker_id") from exc
    audit.record(
        db,
        actor=actor,
        action="link_review.resolve",
        object_type="link_review",
        object_id=item.id,
        before=_answer(prev),
        after=_answer(answer),
    )
    db.commit()
    return answer


def _answer(r: LinkResolution | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "evidence": r.evidence_id,
        "revision": r.revision,
        "worker": r.worker_id,
        "reason": r.reason,
    }
