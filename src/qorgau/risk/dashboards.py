"""Enterprise risk dashboard and the regulator's view (by sector and region, gaps)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import qorgau.risk.register as svc
from qorgau.core.security import Actor, scoped
from qorgau.registry.models import Enterprise
from qorgau.risk import permissions as perm
from qorgau.risk.actions import OPEN_STATUSES, list_actions, overdue_actions
from qorgau.risk.constants import Method
from qorgau.risk.models import Assessment
from qorgau.risk.programme import assessments_current_pct, maturity


def heatmap(rows: list[Assessment]) -> list[list[int]]:
    """grid[likelihood-1][severity-1] of current (residual, else initial) 5×5 scores."""
    grid = [[0] * 5 for _ in range(5)]
    for r in rows:
        if r.method != Method.MATRIX_5X5.value:
            continue
        cell = r.residual or r.initial
        grid[int(cell["likelihood"]) - 1][int(cell["severity"]) - 1] += 1
    return grid


def _rank(row: Assessment) -> tuple[int, float]:
    score = row.residual_score if row.residual_score is not None else row.initial_score
    return svc.BAND_ORDER.index(row.current_band), score


def enterprise_dashboard(*, db: Session, actor: Actor, enterprise_id: int) -> dict[str, Any]:
    ent = svc.enterprise_for_read(db, actor, enterprise_id)
    today = date.today()
    rows = svc.current_assessments(db, actor, [ent.id])
    actions = list_actions(db=db, actor=actor, enterprise_id=ent.id)
    open_actions = [a for a in actions if a.status in OPEN_STATUSES]
    overdue = [a for a in open_actions if a.due_date < today]
    return {
        "enterprise": ent,
        "settings": svc.settings_of(db, ent.id),
        "heatmap": heatmap(rows),
        "bands": Counter(r.current_band for r in rows),
        "top": sorted(rows, key=_rank, reverse=True)[:10],
        "assessments": rows,
        "flagged": [r for r in rows if r.flags],
        "review_overdue": [
            r for r in rows if r.status == "signed" and r.review_due and r.review_due < today
        ],
        "drafts": [r for r in rows if r.status == "draft"],
        "open_actions": open_actions,
        "overdue_actions": overdue,
        "maturity": maturity(db=db, actor=actor, enterprise_id=ent.id, today=today),
        "level": svc.enterprise_risk_levels(db=db, enterprise_ids=[ent.id]).get(ent.id),
        "assessments_current_pct": assessments_current_pct(db, ent.id, today),
    }


def regulator_view(*, db: Session, actor: Actor, limit: int = 100) -> dict[str, Any]:
    """Risk levels by sector and region, enterprises with no current assessment and
    assessments overdue for review, within the actor's reach."""
    actor.require(perm.REGULATOR_VIEW)
    today = date.today()
    ents = db.execute(
        scoped(
            select(Enterprise.id, Enterprise.name, Enterprise.section, Enterprise.region_code),
            Enterprise,
            actor,
        )
    ).all()
    rows = svc.current_assessments(db, actor)
    levels = svc.enterprise_risk_levels(db=db, enterprise_ids=[e.id for e in ents]) if ents else {}
    signed_current: set[int] = set()
    overdue_reviews: list[Assessment] = []
    for r in rows:
        if r.status == "signed" and r.review_due and r.review_due >= today:
            signed_current.add(r.enterprise_id)
        if r.status == "signed" and r.review_due and r.review_due < today:
            overdue_reviews.append(r)
    by_sector: dict[str, Counter[str]] = defaultdict(Counter)
    by_region: dict[str, Counter[str]] = defaultdict(Counter)
    names = {}
    for e in ents:
        level = levels.get(e.id, "none")
        by_sector[e.section][level] += 1
        by_region[e.region_code][level] += 1
        names[e.id] = e.name
    missing = [e for e in ents if e.id not in signed_current]
    overdue_acts = overdue_actions(db=db, actor=actor, today=today)
    high = [(e, levels[e.id]) for e in ents if levels.get(e.id) in ("high", "very_high")]
    return {
        "by_sector": dict(sorted(by_sector.items())),
        "by_region": dict(sorted(by_region.items())),
        "enterprises": len(ents),
        "missing_total": len(missing),
        "missing": missing[:limit],
        "overdue_reviews_total": len(overdue_reviews),
        "overdue_reviews": overdue_reviews[:limit],
        "overdue_actions_total": len(overdue_acts),
        "overdue_actions": overdue_acts[:limit],
        "high_total": len(high),
        "high": sorted(high, key=lambda x: svc.BAND_ORDER.index(x[1]), reverse=True)[:limit],
        "names": names,
    }
