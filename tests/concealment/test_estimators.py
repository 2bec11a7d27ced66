"""Capture–recapture estimators: hand-made tables and simulated populations."""

from __future__ import annotations

import numpy as np
import pytest

from qorgau.concealment.estimators import (
    CELLS,
    cells_from_histories,
    chapman,
    fit_poisson,
    loglinear_3,
    seber_normal_ci,
)


def test_chapman_hand_computed() -> None:
    est = chapman(100, 80, 40)
    assert est.n_hat == pytest.approx(101 * 81 / 41 - 1)  # 198.54
    var = 101 * 81 * 60 * 40 / (41**2 * 42)
    assert est.se == pytest.approx(np.sqrt(var))
    assert est.observed == 140 and est.registry_count == 100
    assert est.ci_low > est.observed and est.ci_low < est.n_hat < est.ci_high
    assert est.under_reporting == pytest.approx(1 - 100 / est.n_hat)
    lo, hi = seber_normal_ci(100, 80, 40)
    assert lo == pytest.approx(est.n_hat - 1.959964 * est.se, rel=1e-6)
    assert hi == pytest.approx(est.n_hat + 1.959964 * est.se, rel=1e-6)


def test_chapman_complete_overlap_has_no_hidden_cases() -> None:
    est = chapman(50, 50, 50)
    assert est.n_hat == pytest.approx(50.0) and est.under_reporting == pytest.approx(0.0)
    assert est.ci_low == est.ci_high == 50


def test_chapman_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        chapman(10, 5, 6)


def test_chapman_simulation_covers_truth() -> None:
    rng = np.random.default_rng(42)
    n, hits = 2000, 0
    for _ in range(200):
        a = rng.random(n) < 0.3  # registry catches 30 %
        b = rng.random(n) < 0.4  # hospitals catch 40 %, independently
        est = chapman(int(a.sum()), int(b.sum()), int((a & b).sum()))
        hits += est.ci_low <= n <= est.ci_high
    assert 0.90 <= hits / 200 <= 0.99


def test_fit_poisson_matches_closed_form() -> None:
    # Intercept + one dummy: fitted means are the group means.
    x = np.column_stack([np.ones(4), [0, 0, 1, 1]])
    beta, _ = fit_poisson(x, np.array([2.0, 4.0, 10.0, 14.0]))
    assert np.exp(beta[0]) == pytest.approx(3.0) and np.exp(beta.sum()) == pytest.approx(12.0)


def test_loglinear_independent_table_has_known_answer() -> None:
    # Expected counts of an independent 3-source design: N = 1000, p = (0.5, 0.4, 0.2).
    p = np.array([0.5, 0.4, 0.2])
    cells = np.array(
        [1000 * np.prod([p[k] if h[k] else 1 - p[k] for k in range(3)]) for h in CELLS]
    )
    est = loglinear_3(cells, n_boot=200)
    assert est.model == "A+B+C"
    assert est.n_hat == pytest.approx(1000.0, rel=1e-6)
    assert est.registry_count == pytest.approx(500.0)
    assert est.under_reporting == pytest.approx(0.5, abs=1e-6)
    assert est.ci_low < 1000 < est.ci_high


def test_loglinear_accepts_dict_and_histories() -> None:
    hist = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 0], [0, 0, 1]])
    cells = cells_from_histories(hist)
    assert dict(zip(CELLS, cells.tolist(), strict=True))[(1, 1, 0)] == 2
    table = {h: 10 + k for k, h in enumerate(CELLS)}
    assert loglinear_3(table, n_boot=20).observed == sum(table.values())


def _simulate(n: int, rng: np.random.Generator, dependent: bool) -> np.ndarray:
    a = rng.random(n) < 0.35
    # Dependent B: hospital records are likelier for registered (severe) cases.
    pb = np.where(a, 0.6, 0.25) if dependent else np.full(n, 0.4)
    b = rng.random(n) < pb
    c = rng.random(n) < 0.3
    seen = a | b | c
    return np.column_stack([a, b, c])[seen].astype(int)


@pytest.mark.parametrize("dependent", [False, True])
def test_loglinear_simulated_population_within_tolerance(dependent: bool) -> None:
    rng = np.random.default_rng(2024)
    n = 5000
    est = loglinear_3(cells_from_histories(_simulate(n, rng, dependent)), n_boot=300)
    assert est.n_hat == pytest.approx(n, rel=0.06)
    assert est.ci_low <= n <= est.ci_high
    if dependent:
        assert "AB" in est.model  # AIC picks the registry–hospital interaction
    true_under = 1 - est.registry_count / n
    assert est.under_reporting == pytest.approx(true_under, abs=0.04)
