"""Concealment operations: evidence intake, analysis runs, estimates and audited reads.
The case workflow lives in cases.py; the pipeline itself in signals.py (no database)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from qorgau.concealment import constants as C
from qorgau.concealment import feeds, signals
from qorgau.concealment.exceptions import BatchRejected
from qorgau.concealment.models import (
    AnalysisRun,
    Case,
    EnterpriseSignal,
    EvidenceRecord,
    Link,
    RegionEstimate,
)
from qorgau.concealment.tables import evidence_frame, registry_frames, victims_frame
from qorgau.core import audit, events
from qorgau.core.db import utcnow
from qorgau.core.errors import Forbidden, RuleViolation
from qorgau.core.pagination import PageParams, paginate
from qorgau.core.roles import Role
from qorgau.core.security import SYSTEM_ACTOR, Actor, scoped
from qorgau.registry import service as registry

# ---------------------------------------------------------------- intake


def _check_feed(actor: Actor, source: str) -> None:
    if source not in C.SOURCES:
        raise RuleViolation(f"unknown source; expected one of {C.SOURCES}", field="source")
    actor.require(C.SUBMIT)
    if actor.kind == "system" and actor.feed != source:
        raise Forbidden(f"this API key feeds {actor.feed!r}, not {source!r}")
    if actor.role is Role.HOSPITAL_CLERK and source != "trauma_visit":
        raise Forbidden("hospital clerks submit trauma visits only")


def _enterprises_by_bin(db: Session, bins: set[str]) -> dict[str, Any]:
    out = {}
    for b in bins:
        try:
            out[b] = registry.get_enterprise_by_bin(db=db, actor=SYSTEM_ACTOR, bin_=b)
        except Exception:
            out[b] = None
    return out


def submit_evidence(
    *, db: Session, actor: Actor, source: str, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """Apply a whole batch or nothing: every bad row is reported with index, field and reason.
    Rows already received (same source and source_ref) are reported as duplicates."""
    _check_feed(actor, source)
    clean, errors = feeds.validate_rows(source, rows, today=date.today())
    if errors:
        raise BatchRejected(errors)
    refs = [r.values["source_ref"] for r in clean]
    existing = dict(
        db.execute(
            select(EvidenceRecord.source_ref, EvidenceRecord.id).where(
                EvidenceRecord.source == source, EvidenceRecord.source_ref.in_(refs)
            )
        ).all()
    )
    ents = _enterprises_by_bin(
        db, {r.values["employer_bin"] for r in clean if r.values["employer_bin"]}
    )
    results, created, flagged = [], 0, 0
    for row in clean:
        ref = row.values["source_ref"]
        if ref in existing:
            results.append({"index": row.index, "status": "duplicate", "id": existing[ref]})
            continue
        ent = ents.get(row.values["employer_bin"] or "")
        rec = EvidenceRecord(
            **row.values
            | {
                "enterprise_id": ent.id if ent else None,
                "region_code": ent.region_code
                if ent
                else (row.values["region_code"] or actor.region),
            },
            organisation_id=actor.organisation_id,
            created_by=actor.label,
        )
        db.add(rec)
        db.flush()
        existing[ref] = rec.id
        created += 1
        flagged += int(rec.iin_hash is not None and not rec.iin_valid)
        results.append(
            {"index": row.index, "status": "created", "id": rec.id, "iin_valid": rec.iin_valid}
        )
    audit.record(
        db,
        actor=actor,
        action="evidence.submit",
        object_type="evidence_batch",
        object_id=f"{source}:{refs[0]}" if refs else source,
        after={
            "source": source,
            "created": created,
            "duplicates": len(clean) - created,
            "ids": [r["id"] for r in results],
        },
    )
    events.emit(
        db,
        type="concealment.evidence_received",
        object_type="evidence_batch",
        object_id=source,
        payload={"source": source, "created": created},
        organisation_id=actor.organisation_id,
    )
    db.commit()
    return {
        "source": source,
        "created": created,
        "duplicates": len(clean) - created,
        "flagged_iin": flagged,
        "rows": results,
    }


def list_evidence(
    *, db: Session, actor: Actor, params: PageParams, source: str | None = None
) -> tuple[list[EvidenceRecord], int]:
    """Personal data: readers only (a hospital can submit but not read), audited as a read."""
    actor.require(C.READ_EVIDENCE)
    stmt = scoped(select(EvidenceRecord), EvidenceRecord, actor).order_by(EvidenceRecord.id.desc())
    if source:
        stmt = stmt.where(EvidenceRecord.source == source)
    items, total = paginate(db, stmt, params)
    audit.record(
        db,
        actor=actor,
        action="evidence.read",
        object_type="evidence",
        object_id=",".join(str(e.id) for e in items[:50]) or "-",
        after={"count": len(items)},
    )
    db.commit()
    return items, total


# ---------------------------------------------------------------- analysis run


def run_analysis(
    *, db: Session, actor: Actor, as_of: date | None = None, since: date | None = None
) -> AnalysisRun:
    """Link, score and estimate over [since, as_of]; store links, signals, estimates; open or
    refresh cases (a case's key is stable, so re-runs never duplicate or reopen decided cases)."""
    actor.require(C.RUN)
    as_of = as_of or date.today()
    since = since or as_of - timedelta(days=3 * 365)
    run = AnalysisRun(as_of=as_of, created_by=actor.label, stats={})
    db.add(run)
    db.flush()
    from qorgau.concealment import cases, review

    reg = registry_frames(db, since, as_of)
    res = signals.run(
        evidence=evidence_frame(db, since),
        victims=victims_frame(db, since),
        as_of=as_of,
        resolved=review.resolved_frame(db),
        **reg,
    )
    _store_links(db, run.id, res)
    _store_signals(db, run.id, res)
    review.store(db, run.id, res)
    opened = cases.open_cases(db, run.id, res)
    run.stats = {**res.stats, "cases_opened": opened}
    run.finished_at = utcnow()
    audit.record(
        db,
        actor=actor,
        action="concealment.run",
        object_type="concealment_run",
        object_id=run.id,
        after=run.stats,
    )
    db.commit()
    return run


def _store_links(db: Session, run_id: int, res: signals.PipelineResult) -> None:
    db.execute(delete(Link))  # links describe the latest run only
    ev = res.evidence.select("id", "enterprise_id", "region_code")
    rows = res.links.join(ev, left_on="evidence_id", right_on="id", how="left")
    if rows.height:
        db.execute(
            insert(Link),
            [
                {
                    "run_id": run_id,
                    "evidence_id": r["evidence_id"],
                    "target_type": "worker",
                    "target_id": r["worker_id"],
                    "method": r["method"],
                    "weight": r["weight"],
                    "probability": r["probability"],
                    "levels": {},
                    "region_code": r["region_code"],
                    "enterprise_id": r["enterprise_id"],
                }
                for r in rows.iter_rows(named=True)
            ],
        )
    acc = res.evidence.filter(pl.col("accident_id").is_not_null())
    if acc.height:
        db.execute(
            insert(Link),
            [
                {
                    "run_id": run_id,
                    "evidence_id": r["id"],
                    "target_type": "accident",
                    "target_id": r["accident_id"],
                    "method": "deterministic",
                    "weight": 0.0,
                    "probability": 1.0,
                    "levels": {},
                    "region_code": r["region_code"],
                    "enterprise_id": r["enterprise_id"],
                }
                for r in acc.iter_rows(named=True)
            ],
        )


def _store_signals(db: Session, run_id: int, res: signals.PipelineResult) -> None:
    ent = res.enterprises
    if ent.height:
        db.execute(
            insert(EnterpriseSignal),
            [
                {
                    "run_id": run_id,
                    "enterprise_id": r["enterprise_id"],
                    "region_code": r["region_code"],
                    "headcount": round(r["headcount"]),
                    "observed": int(r["observed"]),
                    "expected": _num(r["expected"], 0.0),
                    "p_low": _num(r["p_low"], 1.0),
                    "score": _num(r["eo_score"], 0.0),
                    "unreported_episodes": int(r["unreported_episodes"]),
                }
                for r in ent.iter_rows(named=True)
            ],
        )
    for r in res.regions:
        db.add(
            RegionEstimate(
                run_id=run_id,
                region_code=r["region_code"],
                section=r["section"],
                method=r["method"],
                registered=r["registered"],
                observed=r["observed"],
                n_hat=r["n_hat"],
                ci_low=r["ci_low"],
                ci_high=r["ci_high"],
                under_reporting=r["under_reporting"],
                detail={"model": r["model"]},
            )
        )


def _num(x: float | None, default: float) -> float:
    return default if x is None or x != x else float(x)


def latest_run(db: Session) -> AnalysisRun | None:
    return db.scalar(
        select(AnalysisRun)
        .where(AnalysisRun.finished_at.is_not(None))
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    )


# ---------------------------------------------------------------- estimates


def under_reporting_by_region(*, db: Session, actor: Actor) -> list[dict[str, Any]]:
    """Latest capture–recapture estimate per region (all sections), within the caller's scope;
    the map colours regions by `under_reporting`."""
    actor.require(C.READ_ESTIMATES)
    run = latest_run(db)
    if run is None:
        return []
    stmt = scoped(select(RegionEstimate), RegionEstimate, actor).where(
        RegionEstimate.run_id == run.id, RegionEstimate.section == ""
    )
    return [
        {
            "region_code": e.region_code,
            "registered": e.registered,
            "n_hat": e.n_hat,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "under_reporting": e.under_reporting,
            "method": e.method,
            "as_of": run.as_of.isoformat(),
        }
        for e in db.scalars(stmt.order_by(RegionEstimate.region_code))
    ]


def region_estimates(
    *, db: Session, actor: Actor, section: str | None = None
) -> list[RegionEstimate]:
    actor.require(C.READ_ESTIMATES)
    run = latest_run(db)
    if run is None:
        return []
    stmt = scoped(select(RegionEstimate), RegionEstimate, actor).where(
        RegionEstimate.run_id == run.id
    )
    if section is not None:
        stmt = stmt.where(RegionEstimate.section == section)
    return list(db.scalars(stmt.order_by(RegionEstimate.region_code, RegionEstimate.section)))


def enterprise_signals(
    *, db: Session, actor: Actor, params: PageParams
) -> tuple[list[EnterpriseSignal], int]:
    actor.require(C.READ_CASES)
    run = latest_run(db)
    if run is None:
        return [], 0
    stmt = (
        scoped(select(EnterpriseSignal), EnterpriseSignal, actor)
        .where(EnterpriseSignal.run_id == run.id)
        .order_by(EnterpriseSignal.score.desc(), EnterpriseSignal.id)
    )
    return paginate(db, stmt, params)


def enterprise_flags(
    *, db: Session, enterprise_ids: list[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Per enterprise: confirmed and still-open cases, and the latest run's observed and
    expected injuries with p_low. Unscoped bulk read for the inspection planner, which scores
    only the enterprises its caller may see."""
    out: dict[int, dict[str, Any]] = {}

    def row(eid: int) -> dict[str, Any]:
        return out.setdefault(eid, {"confirmed": 0, "open": 0, "p_low": None, "observed": 0,
                                    "expected": 0.0})

    stmt = select(Case.enterprise_id, Case.state, func.count()).where(
        Case.state.in_(("open", "checking", "confirmed")))
    if enterprise_ids is not None:
        stmt = stmt.where(Case.enterprise_id.in_(enterprise_ids))
    for eid, state, n in db.execute(stmt.group_by(Case.enterprise_id, Case.state)):
        row(eid)["confirmed" if state == "confirmed" else "open"] += n
    run = latest_run(db)
    if run is not None:
        sig = select(EnterpriseSignal.enterprise_id, EnterpriseSignal.observed,
                     EnterpriseSignal.expected, EnterpriseSignal.p_low).where(
            EnterpriseSignal.run_id == run.id)
        if enterprise_ids is not None:
            sig = sig.where(EnterpriseSignal.enterprise_id.in_(enterprise_ids))
        for eid, observed, expected, p_low in db.execute(sig):
            row(eid).update(observed=observed, expected=expected, p_low=p_low)
    return out


def case_query(actor: Actor) -> Any:
    return scoped(select(Case), Case, actor)
