"""The accident simulator: bulk rows match its ground truth, span 3+ years, follow calibration."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select


def test_simulate_writes_accidents_and_truth(db, world, tmp_path, monkeypatch):
    from qorgau.incidents import simulate
    from qorgau.incidents.models import Accident, Deadline, Victim

    # The test world has a handful of workers: pretend the country is tiny to get volume.
    monkeypatch.setattr(simulate, "NATIONAL_EMPLOYEES", 500)
    before = db.scalar(select(func.count()).select_from(Victim)) or 0
    counts = simulate.simulate(db=db, seed=7, scale="tiny", truth_dir=tmp_path)
    assert counts["accidents"] > 20
    truth = json.loads((tmp_path / "incidents.json").read_text())
    assert sum(truth["injured_by_year"].values()) == counts["victims"]
    after = db.scalar(select(func.count()).select_from(Victim))
    assert after - before == counts["victims"]
    years = {int(y) for y in truth["injured_by_year"]}
    assert min(years) <= date.today().year - 3
    fatal_share = counts["fatal"] / counts["victims"]
    assert 0.02 < fatal_share < 0.4
    late = db.scalar(
        select(func.count())
        .select_from(Accident)
        .where(Accident.created_by == "system:simulator", Accident.late_report.is_(True))
    )
    assert late >= 1
    n_dl = db.scalar(
        select(func.count())
        .select_from(Deadline)
        .join(Accident, Accident.id == Deadline.accident_id)
        .where(Accident.created_by == "system:simulator")
    )
    assert n_dl == 3 * counts["accidents"]
    assert (tmp_path / "incidents_victims.csv").read_text().count("\n") == counts["victims"] + 1
