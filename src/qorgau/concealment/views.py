"""Read models of the latest stored analysis run for the pages: enterprise signals with their
explanation, and the capture–recapture estimates per region and per region × section.

Nothing is re-estimated here: every figure is a stored result of `service.run_analysis`
(concealment_enterprise_signal, concealment_region_estimate) or a sum over stored rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from qorgau.concealment import constants as C
from qorgau.concealment import service
from qorgau.concealment.expected import SIZE_BANDS
from qorgau.concealment.models import AnalysisRun, EnterpriseSignal, RegionEstimate
from qorgau.core.labels import N_
from qorgau.core.pagination import PageParams
from qorgau.core.security import Actor, scoped
from qorgau.registry import service as registry

PER = 1000.0  # rates are shown per 1,000 worker-years

# Capture–recapture lists (recapture.py): A register, B health, C social / insurer / fatalities.
LISTS = ("A", "B", "C")
SIZE_BAND_LABELS = {
    0: N_("up to 15 worker-years"),
    1: N_("16–100 worker-years"),
    2: N_("101–250 worker-years"),
    3: N_("over 250 worker-years"),
}
METHOD_LABELS = {
    "chapman": N_("Chapman, two lists"),
    "loglinear": N_("Log-linear, three lists"),
}


@dataclass(frozen=True)
class SignalRow:
    """One enterprise's stored expected-vs-observed result and what explains it."""

    signal: EnterpriseSignal
    name: str
    bin: str
    activity_code: str
    section: str
    band: int  # size band of the cell (by worker-years, as the pipeline bands them)
    rate: float | None  # the cell rate the expectation used, per 1,000 worker-years (shrunk);
    # None when under half a worker-year was stored (rounded to 0)
    cell_others: int  # other enterprises in the same cell
    cell_raw: float | None  # their own reported rate per 1,000 worker-years (None: none)
    cell_exposure: float  # their worker-years
    open_cases: int
    confirmed_cases: int


def _band_of(headcount: Any) -> Any:
    """size_band() in SQL: ≤ 15, ≤ 100, ≤ 250, larger (np.searchsorted, side='left')."""
    b = [int(x) for x in SIZE_BANDS]
    return case((headcount <= b[0], 0), (headcount <= b[1], 1), (headcount <= b[2], 2), else_=3)


def band_of(headcount: float) -> int:
    return sum(1 for edge in SIZE_BANDS if headcount > edge)


def enterprise_signal_page(
    *,
    db: Session,
    actor: Actor,
    params: PageParams,
    region: str | None = None,
    section: str | None = None,
) -> tuple[list[SignalRow], int, AnalysisRun | None]:
    """The caller's enterprises of the latest run, most improbable first (P(X ≤ observed)
    ascending, then the larger expectation), with the cell that set each expectation."""
    actor.require(C.READ_CASES)
    run = service.latest_run(db)
    if run is None:
        return [], 0, None
    S = EnterpriseSignal
    ent = registry.enterprise_query(db=db, actor=actor, region=region, section=section)
    ent = ent.order_by(None).subquery()
    stmt = (
        scoped(select(S, ent.c.name, ent.c.bin, ent.c.activity_code, ent.c.section), S, actor)
        .join(ent, ent.c.id == S.enterprise_id)
        .where(S.run_id == run.id)
    )
    if region:
        stmt = stmt.where(S.region_code == region)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = db.execute(
        stmt.order_by(S.p_low, S.expected.desc(), S.id)
        .limit(params.size)
        .offset((params.page - 1) * params.size)
    ).all()
    cells = _cell_totals(db, actor, run.id, {(r[0].region_code, r[3]) for r in page})
    flags = service.enterprise_flags(db=db, enterprise_ids=[r[0].enterprise_id for r in page])
    return [_row(r, cells, flags) for r in page], total, run


def _cell_totals(
    db: Session, actor: Actor, run_id: int, keys: set[tuple[str, str]]
) -> dict[tuple[str, str, int], tuple[int, float, int]]:
    """(region, division, band) → (reported injuries, worker-years, enterprises) of the run.
    A cell lies inside one region, so the caller's scope holds all of it. Headcounts are stored
    rounded, so an enterprise within half a worker-year of a band edge may be banded differently
    from the run (its cell then differs slightly)."""
    if not keys:
        return {}
    S = EnterpriseSignal
    ent = registry.enterprise_query(db=db, actor=actor).order_by(None).subquery()
    band = _band_of(S.headcount)
    stmt = (
        scoped(
            select(
                S.region_code,
                ent.c.activity_code,
                band,
                func.sum(S.observed),
                func.sum(S.headcount),
                func.count(),
            ),
            S,
            actor,
        )
        .join(ent, ent.c.id == S.enterprise_id)
        .where(S.run_id == run_id)
        .where(S.region_code.in_({k[0] for k in keys}))
        .where(ent.c.activity_code.in_({k[1] for k in keys}))
        .group_by(S.region_code, ent.c.activity_code, band)
    )
    return {
        (reg, act, int(b)): (int(o or 0), float(h or 0), int(n))
        for reg, act, b, o, h, n in db.execute(stmt)
    }


def _row(
    r: Any,
    cells: dict[tuple[str, str, int], tuple[int, float, int]],
    flags: dict[int, dict[str, Any]],
) -> SignalRow:
    s, name, bin_, activity, section = r
    band = band_of(s.headcount)
    obs, exp_, n = cells.get((s.region_code, activity, band), (s.observed, s.headcount, 1))
    # The run leaves the enterprise itself out of its cell's rate; so do the figures shown.
    others_h, others_o = exp_ - s.headcount, obs - s.observed
    flag = flags.get(s.enterprise_id, {})
    return SignalRow(
        signal=s,
        name=name,
        bin=bin_,
        activity_code=activity,
        section=section,
        band=band,
        rate=PER * s.expected / s.headcount if s.headcount else None,
        cell_others=max(n - 1, 0),
        cell_raw=PER * others_o / others_h if others_h > 0 else None,
        cell_exposure=max(others_h, 0.0),
        open_cases=int(flag.get("open", 0)),
        confirmed_cases=int(flag.get("confirmed", 0)),
    )


def national_rate(db: Session, run_id: int) -> float | None:
    """Reported injuries per 1,000 worker-years over every enterprise of the run: the national
    benchmark each cell is shrunk toward. One country-wide figure, so it is read unscoped; no
    region or enterprise can be told from it."""
    S = EnterpriseSignal
    o, h = db.execute(
        select(func.sum(S.observed), func.sum(S.headcount)).where(S.run_id == run_id)
    ).one()
    return PER * float(o or 0) / float(h) if h else None


# ---------------------------------------------------------------- capture–recapture


@dataclass(frozen=True)
class EstimateRow:
    estimate: RegionEstimate
    lists: str  # e.g. "A × (B ∪ C)" or "A, B, C + AB"
    under_low: float
    under_high: float


def _lists(e: RegionEstimate) -> str:
    if e.method == "loglinear":
        terms = (e.detail or {}).get("model", "") or "A+B+C"
        extra = [t for t in terms.split("+") if t not in LISTS]
        return "A, B, C" + (" + " + " + ".join(f"{t[0]}×{t[1]}" for t in extra) if extra else "")
    return "A × (B ∪ C)"


def estimate_row(e: RegionEstimate) -> EstimateRow:
    """The under-reporting interval follows from the N̂ interval (1 − registered / N)."""

    def share(n: float) -> float:
        return max(0.0, 1.0 - e.registered / n) if n > 0 else 0.0

    return EstimateRow(e, _lists(e), share(e.ci_low), share(e.ci_high))


def estimate_tables(
    *, db: Session, actor: Actor, region: str | None = None, section: str | None = None
) -> tuple[list[EstimateRow], list[EstimateRow], AnalysisRun | None]:
    """Per region (all sections) and per region × section, from the latest run's stored rows."""
    rows = service.region_estimates(db=db, actor=actor)
    run = service.latest_run(db) if rows else None
    if region:
        rows = [e for e in rows if e.region_code == region]
    by_region = [estimate_row(e) for e in rows if e.section == ""]
    by_section = [
        estimate_row(e) for e in rows if e.section and (not section or e.section == section)
    ]
    return by_region, by_section, run
