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


def test_simulate_writes_register_and_truth(db, world, tmp_path):
    from qorgau.risk.models import Assessment, Control, HoursWorked

    before = db.query(Assessment).count()
    # the simulator leaves alone enterprises that recorded their own hours (other tests do)
    had_hours = {e for (e,) in db.query(HoursWorked.enterprise_id).distinct()}
    counts = simulate(db=db, seed=3, scale="tiny", truth_dir=tmp_path)
    db.expire_all()
    assert counts["enterprises"] >= 2  # both world enterprises are in template sectors
    assert db.query(Assessment).count() - before == counts["assessments"]
    assert db.query(Control).count() >= counts["controls"]
    truth = json.loads((tmp_path / "risk.json").read_text())
    assert truth["counts"] == counts
    # enterprises that keep a register record twelve months of hours, so LTIFR is available
    from datetime import date

    from qorgau.risk import lagging

    assert counts["hours_months"] % 12 == 0
    if counts["hours_months"] == 0:  # only when the register keepers had hours of their own
        assert had_hours & set(world.enterprises.values())
        return
    row = db.query(HoursWorked).filter(HoursWorked.created_by == "simulator").first()
    lti = lagging.ltifr(db, row.enterprise_id, date.today())
    assert lti["months_recorded"] == 12 and lti["hours"] > 0 and lti["ltifr"] is not None
