"""Simulator: gaps rise with danger; rows and the planted truth file are written."""

from __future__ import annotations

import json

import numpy as np

from qorgau.risk.simulate import _plan, simulate


def test_gaps_rise_with_danger():
    rng = np.random.default_rng(0)
    low = [_plan(rng, 0.1) for _ in range(3000)]
    high = [_plan(rng, 0.9) for _ in range(3000)]
    for key in ("missing", "stale", "soft_only"):
        assert sum(p[key] for p in high) > 1.8 * sum(p[key] for p in low)


def _own_hours_in_window(db, today) -> set[int]:
    """Enterprises with hours recorded in the simulator's window (the last 12 complete months)."""
    from datetime import timedelta

    from qorgau.risk.lagging import months_back
    from qorgau.risk.models import HoursWorked

    months = months_back(today.replace(day=1) - timedelta(days=1))
    keys = {y * 100 + m for y, m in months}
    rows = db.query(HoursWorked.enterprise_id, HoursWorked.year, HoursWorked.month).all()
    return {e for e, y, m in rows if y * 100 + m in keys}


def test_simulate_writes_register_and_truth(db, world, tmp_path):
    from datetime import date

    from sqlalchemy import func

    from qorgau.core.security import SYSTEM_ACTOR
    from qorgau.registry import service as registry
    from qorgau.risk import lagging
    from qorgau.risk.models import Assessment, Control, Hazard, HoursWorked

    today = date.today()
    before = db.query(Assessment).count()
    last_hazard = db.query(func.max(Hazard.id)).scalar() or 0
    last_hours = db.query(func.max(HoursWorked.id)).scalar() or 0
    # other tests record hours of their own in the shared world: the simulator leaves those alone
    own = _own_hours_in_window(db, today)
    counts = simulate(db=db, seed=3, scale="tiny", truth_dir=tmp_path)
    db.expire_all()
    assert counts["enterprises"] >= 2  # both world enterprises are in template sectors
    assert db.query(Assessment).count() - before == counts["assessments"]
    assert db.query(Control).count() >= counts["controls"]
    truth = json.loads((tmp_path / "risk.json").read_text())
    assert truth["counts"] == counts
    # enterprises given a register record twelve months of hours (if they have staff and no
    # hours of their own), so LTIFR is available for them
    keepers = {e for (e,) in db.query(Hazard.enterprise_id).filter(
        Hazard.id > last_hazard, Hazard.created_by == "simulator").distinct()}
    staff = dict(registry.headcount(db=db, actor=SYSTEM_ACTOR, on=today, group_by="enterprise"))
    expected = {e for e in keepers if staff.get(e) and e not in own}
    assert counts["hours_months"] == 12 * len(expected)
    for eid in expected:
        lti = lagging.ltifr(db, eid, today)
        assert lti["months_recorded"] == 12 and lti["hours"] > 0 and lti["ltifr"] is not None
    assert not db.query(HoursWorked).filter(HoursWorked.id > last_hours,
                                            HoursWorked.enterprise_id.in_(own)).count()
