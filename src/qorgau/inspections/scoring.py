"""Explainable enterprise risk score: a sum of named, weighted components, each with its reason.

Every component is computed for a whole set of enterprises with grouped SQL (no per-enterprise
queries), so the map can score a region — or the country — in one call.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qorgau.core.security import SYSTEM_ACTOR
from qorgau.equipment import service as equipment
from qorgau.inspections.models import HazardousFacility, Prescription, TechnicalDevice, Violation
from qorgau.insurance import service as insurance
from qorgau.registry import service as registry
from qorgau.registry.models import Enterprise
from qorgau.registry.refdata import RefDataError, oked_risk_class


@dataclass
class Part:
    name: str
    points: float
    reason: str


@dataclass
class ScoreBreakdown:
    enterprise_id: int
    components: list[Part] = field(default_factory=list)
    skipped: list[Part] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(p.points for p in self.components), 2)

    def add(self, name: str, points: float, reason: str) -> None:
        if points > 0:
            self.components.append(Part(name, round(points, 2), reason))

    def as_list(self) -> list[dict[str, Any]]:
        return [
            {"name": p.name, "points": p.points, "reason": p.reason}
            for p in sorted(self.components, key=lambda p: -p.points)
        ]


@cache
def weights() -> dict[str, Any]:
    return json.loads(
        files("qorgau.inspections").joinpath("data/risk_weights.json").read_text(encoding="utf-8")
    )


def _in(stmt: Any, col: Any, ids: list[int] | None) -> Any:
    return stmt if ids is None else stmt.where(col.in_(ids))


def _counts(db: Session, col: Any, where: Any, ids: list[int] | None) -> Iterable[Any]:
    """(enterprise id, rows matching `where`) for the enterprises in `ids` (all when None)."""
    return db.execute(_in(select(col, func.count()).where(where), col, ids).group_by(col))


def _add_counted(
    scores: dict[int, ScoreBreakdown],
    counts: Iterable[Any],
    name: str,
    each: float,
    cap: float,
    reason: str,
) -> None:
    """A component worth `each` per counted item up to `cap`; `reason` takes {n}."""
    for eid, n in counts:
        if eid in scores:
            scores[eid].add(name, min(cap, n * each), reason.format(n=n))


def _risk_class(bd: ScoreBreakdown, code: str, w: dict[str, Any]) -> None:
    try:
        rc = oked_risk_class(code).risk_class
    except RefDataError:
        return
    bd.add(
        "risk_class",
        w["risk_class_max"] * rc / 22,
        f"occupational risk class {rc} of 22 (activity {code})",
    )


def _insurance(
    scores: dict[int, ScoreBreakdown], db: Session, ids: list[int] | None, w: dict[str, Any]
) -> None:
    for eid, kinds in insurance.open_gaps_by_enterprise(db=db, enterprise_ids=ids).items():
        if eid in scores:
            pts = sum(w["insurance"].get(k, 0) for k in set(kinds))
            scores[eid].add("insurance", pts, "open insurance gaps: " + ", ".join(sorted(kinds)))


def _equipment(
    scores: dict[int, ScoreBreakdown], db: Session, ids: list[int] | None, w: dict[str, Any]
) -> None:
    for eid, (required, bad) in equipment.missing_by_enterprise(db=db, enterprise_ids=ids).items():
        if eid in scores and required:
            scores[eid].add(
                "equipment",
                w["equipment_max"] * bad / required,
                f"{bad} of {required} mandatory OSH equipment items missing or not reporting",
            )


def _violations(
    scores: dict[int, ScoreBreakdown],
    db: Session,
    ids: list[int] | None,
    w: dict[str, Any],
    on: date,
) -> None:
    since = on - timedelta(days=365 * w["violations_years"])
    _add_counted(
        scores,
        _counts(db, Violation.enterprise_id, Violation.found_on >= since, ids),
        "violations",
        w["violation_each"],
        w["violations_max"],
        "{n} violation(s) found in the last " + f"{w['violations_years']} years",
    )
    _add_counted(
        scores,
        _counts(db, Prescription.enterprise_id, Prescription.state == "overdue", ids),
        "prescriptions",
        w["overdue_prescription_each"],
        w["overdue_prescriptions_max"],
        "{n} prescription(s) not complied with by the deadline",
    )


def _hpf(
    scores: dict[int, ScoreBreakdown],
    db: Session,
    ids: list[int] | None,
    w: dict[str, Any],
    on: date,
    flagged: set[int],
) -> None:
    stmt = _in(
        select(
            HazardousFacility.enterprise_id, func.min(HazardousFacility.hazard_class), func.count()
        ),
        HazardousFacility.enterprise_id,
        ids,
    ).group_by(HazardousFacility.enterprise_id)
    seen: set[int] = set()
    for eid, cls, n in db.execute(stmt):
        if eid in scores:
            seen.add(eid)
            scores[eid].add(
                "hpf",
                w["hpf_by_class"].get(str(cls), 0),
                f"{n} hazardous production facilit(y/ies), highest hazard class {cls}",
            )
    for eid in flagged - seen:
        if eid in scores:
            scores[eid].add("hpf", w["hpf_flag_only"], "marked as operating hazardous facilities")
    overdue: Counter[int] = Counter()
    for eid, n in _counts(db, TechnicalDevice.enterprise_id, TechnicalDevice.exam_due < on, ids):
        overdue[eid] += n
    for eid, n in _counts(
        db, HazardousFacility.enterprise_id, HazardousFacility.expert_exam_due < on, ids
    ):
        overdue[eid] += n
    _add_counted(
        scores,
        overdue.items(),
        "overdue_exams",
        w["overdue_exam_each"],
        w["overdue_exams_max"],
        "{n} technical or expert examination(s) overdue",
    )


def _injuries(
    scores: dict[int, ScoreBreakdown],
    db: Session,
    ids: list[int] | None,
    w: dict[str, Any],
    on: date,
) -> None:
    """Accidents in the last 3 years per 1,000 workers against the sector's rate."""
    from qorgau.incidents import service as incidents

    sub = incidents.accident_query(actor=SYSTEM_ACTOR).order_by(None).subquery()
    since = datetime.combine(on - timedelta(days=3 * 365), time(0), tzinfo=UTC)
    stmt = (
        select(sub.c.enterprise_id, sub.c.section, func.count(), func.sum(sub.c.fatalities))
        .where(sub.c.occurred_at >= since)
        .group_by(sub.c.enterprise_id, sub.c.section)
    )
    rows = db.execute(stmt).all()
    heads = dict(registry.headcount(db=db, actor=SYSTEM_ACTOR, on=on, group_by="enterprise"))
    sect_heads = dict(registry.headcount(db=db, actor=SYSTEM_ACTOR, on=on, group_by="section"))
    sect_acc: dict[str, int] = defaultdict(int)
    for _eid, section, n, _f in rows:
        sect_acc[section] += n
    for eid, section, n, fatal in rows:
        if eid not in scores:
            continue
        rate = 1000 * n / max(1, heads.get(eid, 0))
        sector = 1000 * sect_acc[section] / max(1, sect_heads.get(section, 0))
        ratio = rate / sector if sector else 1.0
        pts = min(w.get("injuries_max", 20), 4 * n**0.5 * min(ratio, 5) + 5 * (fatal or 0))
        scores[eid].add(
            "injuries",
            pts,
            f"{n} accident(s) in 3 years ({fatal or 0} fatal): "
            f"{rate:.1f} per 1,000 workers vs sector {section} {sector:.2f}",
        )


def _risk_assessment(
    scores: dict[int, ScoreBreakdown],
    db: Session,
    ids: list[int] | None,
    w: dict[str, Any],
    on: date,
    flagged: set[int],
) -> None:
    """The enterprise's own ISO 45001 register: its highest current risk band, corrective
    actions past due, and a hazardous enterprise that has assessed nothing at all."""
    from qorgau.risk import service as risk

    wr = w["risk_assessment"]
    bands = risk.enterprise_risk_levels(db=db, enterprise_ids=ids)
    for eid, band in bands.items():
        if eid in scores:
            scores[eid].add("risk_assessment", wr["band"].get(band, 0),
                            f"highest current risk in its own assessment: {band}")
    for eid in flagged - set(bands):
        if eid in scores:
            scores[eid].add("risk_assessment", wr["hazardous_unassessed"],
                            "operates hazardous facilities but has no current risk assessment")
    late = Counter(action.enterprise_id for action in risk.overdue_actions(db=db, today=on))
    _add_counted(
        scores,
        late.items(),
        "overdue_actions",
        wr["overdue_action_each"],
        wr["overdue_actions_max"],
        "{n} corrective action(s) from its risk register past due",
    )


def _concealment(
    scores: dict[int, ScoreBreakdown], db: Session, ids: list[int] | None, w: dict[str, Any]
) -> None:
    """Signs of concealed injuries: confirmed and open concealment cases, and an injury count
    improbably low for the enterprise's size and sector in the latest analysis run."""
    from qorgau.concealment import service as concealment

    wc = w["concealment"]
    for eid, sig in concealment.enterprise_flags(db=db, enterprise_ids=ids).items():
        if eid not in scores:
            continue
        pts = sig["confirmed"] * wc["confirmed_each"] + sig["open"] * wc["open_each"]
        reasons = []
        if sig["confirmed"] or sig["open"]:
            reasons.append(f"{sig['confirmed']} confirmed and {sig['open']} open concealment "
                           "case(s)")
        if sig["p_low"] is not None and sig["p_low"] < wc["p_low_below"]:
            pts += wc["p_low_points"]
            reasons.append(f"{sig['observed']} injuries reported where "
                           f"{sig['expected']:.1f} were expected (p = {sig['p_low']:.3f})")
        scores[eid].add("concealment", min(wc["max"], pts), "; ".join(reasons))


def risk_scores(
    *,
    db: Session,
    enterprise_ids: list[int] | None = None,
    on: date | None = None,
    region: str | None = None,
) -> dict[int, ScoreBreakdown]:
    """Scores for the given enterprises (all when None). Unscoped: callers apply scope."""
    on = on or date.today()
    w = weights()
    stmt = select(Enterprise.id, Enterprise.activity_code, Enterprise.hazardous)
    stmt = _in(stmt, Enterprise.id, enterprise_ids)
    if region:
        stmt = stmt.where(Enterprise.region_code == region)
    scores: dict[int, ScoreBreakdown] = {}
    flagged: set[int] = set()
    for eid, code, hazardous in db.execute(stmt):
        bd = ScoreBreakdown(eid)
        _risk_class(bd, code, w)
        scores[eid] = bd
        if hazardous:
            flagged.add(eid)
    ids = enterprise_ids
    _insurance(scores, db, ids, w)
    _equipment(scores, db, ids, w)
    _violations(scores, db, ids, w, on)
    _hpf(scores, db, ids, w, on, flagged)
    _injuries(scores, db, ids, w, on)
    _risk_assessment(scores, db, ids, w, on, flagged)
    _concealment(scores, db, ids, w)
    return scores
