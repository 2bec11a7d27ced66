"""The evaluation on the regional twin (the small twin has ~30 true injuries in four years at
the calibrated rate: too few to measure anything). Targets: precision@k ≥ 0.9, recall ≥ 0.8,
capture–recapture within ±15 %; figures per seed in docs/concealment.md."""

from __future__ import annotations

import pytest

from qorgau.concealment.evaluate import run_evaluation


@pytest.mark.slow
def test_region_twin_evaluation() -> None:
    m = run_evaluation(seed=1, scale="region")
    assert 0.15 < m["concealed"] / m["true_injuries"] < 0.40  # calibrated withholding
    assert m["concealed_with_evidence"] > 80 and m["cases"] >= 100
    assert m["capture_recapture"], "some region should have > 50 injuries"
    assert m["cr_max_abs_error"] <= 0.15
    assert m["recall"] >= 0.8
    assert m["precision_at_k"] >= 0.9


def test_small_twin_runs_end_to_end() -> None:
    m = run_evaluation(seed=2, scale="small")
    assert m["true_injuries"] > 0 and m["evidence_records"] > m["true_injuries"]
    assert 0.0 <= m["recall"] <= 1.0 or m["concealed_with_evidence"] == 0
