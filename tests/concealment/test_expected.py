"""Expected-vs-observed injuries: shrinkage and the "improbably few" probability."""

from __future__ import annotations

import numpy as np
import pytest

from qorgau.concealment.expected import (
    cell_index,
    estimate_dispersion,
    expected_vs_observed,
    fit_gamma_prior,
    p_at_most,
    shrink_rates,
    size_band,
)


def test_expected_ten_observed_zero_is_improbable() -> None:
    p = p_at_most(np.array([0, 10, 3]), np.array([10.0, 10.0, 10.0]))
    assert p[0] < 0.001 and p[0] == pytest.approx(np.exp(-10))
    assert p[1] > 0.5
    nb = p_at_most(np.array([0]), np.array([10.0]), dispersion=2.0)
    assert nb[0] > p[0]  # overdispersion makes a zero less surprising


def test_shrinkage_pulls_small_cells_toward_the_mean() -> None:
    rng = np.random.default_rng(0)
    n_cells = 60
    true_rate = rng.gamma(20.0, 1 / 20.0, n_cells) * 0.01  # ~1 % per worker-year, mild spread
    exposure = np.where(np.arange(n_cells) < 10, 30.0, 200_000.0)  # 10 tiny cells
    events = rng.poisson(true_rate * exposure)
    prior = fit_gamma_prior(events, exposure)
    assert prior.mean == pytest.approx(events.sum() / exposure.sum(), rel=0.2)
    rates = shrink_rates(np.arange(n_cells), exposure, events)
    raw, post = rates.raw, rates.posterior
    small, big = slice(0, 10), slice(10, None)
    # Small cells: posterior much closer to the prior mean than the raw rate.
    dist_raw = np.abs(raw[small] - prior.mean)
    dist_post = np.abs(post[small] - prior.mean)
    assert np.all(dist_post <= dist_raw + 1e-12) and dist_post.mean() < 0.3 * dist_raw.mean()
    # Big cells: barely moved.
    assert np.allclose(post[big], raw[big], rtol=0.05)
    # And shrinkage helps: smaller error against the truth on the tiny cells.
    assert (
        np.abs(post[small] - true_rate[small]).mean() < np.abs(raw[small] - true_rate[small]).mean()
    )


def test_expected_vs_observed_flags_the_concealer() -> None:
    rng = np.random.default_rng(5)
    n = 400
    activity = rng.integers(0, 5, n)
    region = rng.integers(0, 4, n)
    headcount = rng.integers(50, 400, n).astype(float)
    rate = np.array([0.002, 0.005, 0.01, 0.02, 0.03])[activity]
    observed = rng.poisson(headcount * rate)
    concealer = int(np.argmax(headcount * rate))
    observed[concealer] = 0
    res = expected_vs_observed(
        headcount=headcount, observed=observed, cells=[activity, region, size_band(headcount)]
    )
    assert res.expected[concealer] > 7
    assert res.p_low[concealer] < 0.001
    assert int(np.argmax(res.score)) == concealer
    assert np.median(res.p_low) > 0.3  # honest reporters are not flagged
    assert res.dispersion is None and res.shortfall[concealer] == pytest.approx(
        res.expected[concealer]
    )


def test_leave_self_out_keeps_big_concealer_from_lowering_its_benchmark() -> None:
    rng = np.random.default_rng(11)
    cells = np.repeat(np.arange(20), 4)
    headcount = np.full(80, 100.0)
    observed = rng.poisson(2.0, 80)
    # A 5,000-worker enterprise in cell 0 reports nothing: with itself included it would
    # drag cell 0's rate (and so its own expected count) towards zero.
    cells, headcount = np.append(cells, 0), np.append(headcount, 5000.0)
    observed = np.append(observed, 0)
    loo = expected_vs_observed(headcount=headcount, observed=observed, cells=cells)
    incl = expected_vs_observed(
        headcount=headcount, observed=observed, cells=cells, leave_self_out=False
    )
    assert loo.expected[-1] > 2 * incl.expected[-1]
    # The gamma prior is still fitted with cell 0 in it, so some pull remains (5,000 × 2 % = 100).
    assert loo.expected[-1] > 40
    assert loo.p_low[-1] < 1e-10 < incl.p_low[-1]


def test_overdispersion_estimate_and_nb_option() -> None:
    rng = np.random.default_rng(1)
    mu = np.full(3000, 4.0)
    r_true = 2.0
    counts = rng.negative_binomial(r_true, r_true / (r_true + mu))
    assert estimate_dispersion(counts, mu) == pytest.approx(r_true, rel=0.2)
    assert (
        estimate_dispersion(rng.poisson(mu), mu) is None
        or estimate_dispersion(rng.poisson(mu), mu) > 20
    )
    res = expected_vs_observed(
        headcount=np.full(50, 100.0),
        observed=np.arange(50) % 7,
        cells=np.zeros(50, int),
        overdispersion=3.0,
    )
    assert res.dispersion == 3.0 and np.all((res.p_low > 0) & (res.p_low <= 1))


def test_size_band_and_cell_index() -> None:
    assert size_band(np.array([1, 15, 16, 100, 101, 250, 251])).tolist() == [0, 0, 1, 1, 2, 2, 3]
    ids = cell_index([np.array(["A", "A", "B", "A"]), np.array([1, 2, 1, 1])])
    assert ids[0] == ids[3] and len(set(ids.tolist())) == 3


def test_no_injuries_anywhere_expects_none_and_flags_no_one() -> None:
    # A lone enterprise in its cell with no injuries anywhere used to get 0/0 = NaN.
    with np.errstate(all="raise"):
        r = expected_vs_observed(
            headcount=np.array([10.0, 20.0, 30.0]),
            observed=np.array([0, 0, 0]),
            cells=np.array([0, 1, 1]),
            overdispersion=True,
        )
    assert np.array_equal(r.expected, [0.0, 0.0, 0.0])
    assert np.array_equal(r.p_low, [1.0, 1.0, 1.0])
    assert not np.any(r.score > 0)
