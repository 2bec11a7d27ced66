"""Cases: opened from the pipeline's candidates, ranked per region, explained, decided.

Workflow open → checking → confirmed | unfounded (open → unfounded allowed). Every read of a case
and of its linked personal data is audited; every transition is a CaseEvent plus an audit entry.
A confirmed case registers the accident retroactively (`incidents.service.register_retroactive`,
flagged retroactive, referencing the case) and records the violation against the employer
(`inspections.service.record_violation`), in the same transaction as the decision.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.concealment import constants as C
from qorgau.concealment import signals
from qorgau.concealment.exceptions import CaseNotFound
from qorgau.concealment.models import Case, CaseEvent, EvidenceRecord
from qorgau.concealment.schemas import CaseTransitionIn
from qorgau.core import audit, events
from qorgau.core.db import utcnow
from qorgau.core.errors import RuleViolation
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.security import Actor, in_scope, scoped


def explanation(row: dict[str, Any]) -> dict[str, Any]:
    """Which records, which model, how strong: stored as data, rendered in kk/ru/en."""
    return {
        "model": "evidence log-odds (base 2) + corroboration + link quality + enterprise "
        "expected-vs-observed + peer episodes",
        "prior": C.CASE_PRIOR_LOG2,
        "sources": [{"source": t["source"], "weight": round(t["w"], 2)} for t in row["terms"]],
        "link": {
            "method": row["link_method"],
            "probability": round(row["link_p"], 4),
            "term": round(row["link_term"], 2),
        },
        "enterprise": {
            "eo_score": round(row.get("eo_score") or 0.0, 2),
            "term": round(row["enterprise_term"], 2),
        },
        "peers": {"episodes": int(row["peer_episodes"]), "term": round(row["peer_term"], 2)},
        "corroboration": {
            "families_at_work": int(row["families_at_work"]),
            "families_not_work": int(row["families_not_work"]),
            "term": round(row["corroboration_term"], 2),
        },
        "fatal": bool(row["fatal"]),
        "logodds": round(row["logodds"], 2),
        "employed_on_date": bool(row["employed"]),
        "window_days": C.REPORT_WINDOW_DAYS + C.GRACE_DAYS,
    }


def open_cases(db: Session, run_id: int, res: signals.PipelineResult) -> int:
    """Insert new candidate cases; refresh the score of open ones; never touch decided ones."""
    cands = signals.candidates(res.episodes)
    opened = 0
    for row in cands.iter_rows(named=True):
        key = f"u:{row['worker_id'] or 'e' + str(row['evidence_ids'][0])}:{row['first_date']}"
        case = db.scalar(select(Case).where(Case.key == key))
        if case is not None:
            if case.state in ("open", "checking"):
                case.score, case.probability = row["logodds"], row["probability"]
                case.explanation, case.run_id = explanation(row), run_id
            continue
        db.add(
            Case(
                key=key,
                kind="unreported_injury",
                region_code=row["region_code"] or "",
                enterprise_id=row["enterprise_id"],
                worker_id=row["worker_id"],
                event_date=row["first_date"],
                score=row["logodds"],
                probability=row["probability"],
                explanation=explanation(row),
                evidence_ids=sorted(row["evidence_ids"]),
                run_id=run_id,
            )
        )
        opened += 1
    db.flush()
    return opened


def list_cases(
    *,
    db: Session,
    actor: Actor,
    params: PageParams,
    state: str | None = None,
    enterprise_id: int | None = None,
) -> tuple[list[Case], int]:
    """The ranked queue (regional inspectors see their region only), optionally one
    enterprise's cases; audited as a read."""
    actor.require(C.READ_CASES)
    stmt = scoped(select(Case), Case, actor).order_by(Case.probability.desc(), Case.id)
    if state:
        stmt = stmt.where(Case.state == state)
    if enterprise_id is not None:
        stmt = stmt.where(Case.enterprise_id == enterprise_id)
    items, total = paginate(db, stmt, params)
    audit.record(
        db,
        actor=actor,
        action="case.list",
        object_type="case",
        object_id=",".join(str(c.id) for c in items[:50]) or "-",
        after={"state": state, "enterprise": enterprise_id, "count": len(items)},
    )
    db.commit()
    return items, total


def _get(db: Session, actor: Actor, case_id: int) -> Case:
    case = db.get(Case, case_id)
    if case is None or not in_scope(case, actor):
        raise CaseNotFound()
    return case


def get_case(*, db: Session, actor: Actor, case_id: int) -> tuple[Case, list[EvidenceRecord]]:
    """The case and its evidence (personal data): the read is audited."""
    actor.require(C.READ_CASES)
    case = _get(db, actor, case_id)
    evidence = list(
        db.scalars(select(EvidenceRecord).where(EvidenceRecord.id.in_(case.evidence_ids)))
    )
    audit.record(
        db,
        actor=actor,
        action="case.read",
        object_type="case",
        object_id=case.id,
        after={"evidence": case.evidence_ids, "worker": case.worker_id},
    )
    db.commit()
    return case, evidence


def history(*, db: Session, actor: Actor, case_id: int) -> list[CaseEvent]:
    actor.require(C.READ_CASES)
    _get(db, actor, case_id)
    return list(
        db.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    )


def transition(*, db: Session, actor: Actor, case_id: int, data: CaseTransitionIn) -> Case:
    actor.require(C.DECIDE)
    case = _get(db, actor, case_id)
    if data.to_state not in C.CASE_STATES[case.state]:
        raise RuleViolation(
            f"a case in state {case.state!r} cannot move to {data.to_state!r}", field="to_state"
        )
    before = {"state": case.state}
    db.add(
        CaseEvent(
            case_id=case.id,
            region_code=case.region_code,
            enterprise_id=case.enterprise_id,
            from_state=case.state,
            to_state=data.to_state,
            actor=actor.label,
            note=data.note,
        )
    )
    case.state, case.updated_at = data.to_state, utcnow()
    if data.to_state == "confirmed":
        _register(db, actor, case)
    audit.record(
        db,
        actor=actor,
        action=f"case.{data.to_state}",
        object_type="case",
        object_id=case.id,
        before=before,
        after={"state": case.state, "note": data.note, "registration": case.registration},
    )
    events.emit(
        db,
        type=f"concealment.case_{data.to_state}",
        object_type="case",
        object_id=case.id,
        payload={"kind": case.kind, "state": case.state},
        region_code=case.region_code,
        enterprise_id=case.enterprise_id,
    )
    db.commit()
    return case


def _register(db: Session, actor: Actor, case: Case) -> None:
    """Retroactive registration and the violation, through the other domains' services; both
    are keyed on the case, so a repeated call registers nothing twice."""
    from qorgau.incidents import service as incidents
    from qorgau.inspections import service as inspections

    if case.event_date is None:
        raise RuleViolation("the case has no event date to register", field="event_date")
    ref = f"concealment_case:{case.id}"
    accident, _ = incidents.register_retroactive(
        db=db,
        actor=actor,
        data=incidents.RetroactiveIn(
            enterprise_id=case.enterprise_id,
            occurred_on=case.event_date,
            source_ref=ref,
            circumstances=f"Unreported accident established by concealment case {case.id}.",
            victims=[_victim(db, case)],
        ),
        commit=False,
    )
    violation, _ = inspections.record_violation(
        db=db,
        actor=actor,
        enterprise_id=case.enterprise_id,
        source="concealment",
        ref=f"case-{case.id}",
        norm="Labour Code of the RK, arts. 186–190 (accident not reported within 24 hours)",
        description=f"Concealed workplace accident of {case.event_date} (case {case.id}).",
        found_on=utcnow().date(),
        commit=False,
    )
    case.accident_id, case.registration = accident.id, "done"
    case.violation_ref = f"violation:{violation.id}"


def _victim(db: Session, case: Case) -> Any:
    from qorgau.incidents import service as incidents
    from qorgau.registry.models import Worker

    fatal = bool((case.explanation or {}).get("fatal"))
    w = db.get(Worker, case.worker_id) if case.worker_id else None
    if w is None:  # unlinked evidence: the inspector completes the victim on the accident
        return incidents.RetroactiveVictim(full_name="", severity="fatal" if fatal else "minor")
    return incidents.RetroactiveVictim(
        worker_id=w.id, iin_hash=w.iin_hash, iin_masked=w.iin_masked,
        full_name=f"{w.last_name} {w.first_name}".strip(), birth_date=w.birth_date,
        severity="fatal" if fatal else "minor",
    )  # fmt: skip


def precision(*, db: Session, actor: Actor) -> dict[str, Any]:
    """Measured precision of decided cases: confirmed / (confirmed + unfounded), in scope."""
    actor.require(C.READ_CASES)
    stmt = (
        scoped(select(Case.kind, Case.state, func.count()), Case, actor)
        .where(Case.state.in_(("confirmed", "unfounded")))
        .group_by(Case.kind, Case.state)
    )
    by: dict[str, dict[str, Any]] = {}
    for kind, state, n in db.execute(stmt):
        by.setdefault(kind, {"confirmed": 0, "unfounded": 0})[state] = n
    conf = sum(v["confirmed"] for v in by.values())
    unf = sum(v["unfounded"] for v in by.values())
    for v in by.values():
        d = v["confirmed"] + v["unfounded"]
        v["precision"] = v["confirmed"] / d if d else None
    return {
        "confirmed": conf,
        "unfounded": unf,
        "precision": conf / (conf + unf) if conf + unf else None,
        "by_kind": by,
    }


def frame_of_cases(cases: list[Case]) -> pl.DataFrame:
    return pl.DataFrame([{"id": c.id, "probability": c.probability} for c in cases])
