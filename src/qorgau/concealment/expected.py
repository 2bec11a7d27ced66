"""Expected vs observed injuries per enterprise ("improbably few" detection).

Expected injuries = headcount × rate of the enterprise's cell (activity × region × size band).
Cell rates are shrunk by empirical Bayes (Poisson–Gamma): small cells borrow strength from the
national rate instead of trusting 0/12 or 3/40. Each enterprise then gets
P(X ≤ observed | expected) under a Poisson or negative-binomial law: a tiny value means the
enterprise reports improbably few injuries for its risk profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize, special, stats

# Enterprise size bands by hired headcount (micro / small / medium / large, Entrepreneurial Code).
SIZE_BANDS = np.array([15, 100, 250])


@dataclass(frozen=True)
class GammaPrior:
    """Rate prior λ ~ Gamma(shape α, rate β): mean α/β, variance α/β²."""

    alpha: float
    beta: float

    @property
    def mean(self) -> float:
        return self.alpha / self.beta


@dataclass(frozen=True)
class CellRates:
    cell: np.ndarray  # cell index per enterprise (0..n_cells-1)
    events: np.ndarray  # observed injuries per cell
    exposure: np.ndarray  # headcount per cell
    raw: np.ndarray  # events / exposure
    posterior: np.ndarray  # (α + events) / (β + exposure)
    prior: GammaPrior


@dataclass(frozen=True)
class ExpectedResult:
    expected: np.ndarray
    observed: np.ndarray
    p_low: np.ndarray  # P(X ≤ observed | expected)
    score: np.ndarray  # −log10 p_low, capped: higher = more suspicious
    shortfall: np.ndarray  # expected − observed (≥ 0 part)
    rates: CellRates
    dispersion: float | None  # NB size r (None → Poisson)


def size_band(headcount: np.ndarray) -> np.ndarray:
    """0 micro (≤15), 1 small (≤100), 2 medium (≤250), 3 large."""
    return np.searchsorted(SIZE_BANDS, np.asarray(headcount), side="left")


def cell_index(keys: Sequence[np.ndarray]) -> np.ndarray:
    """Dense cell ids for the cross of several key arrays (e.g. OKED, region, size band),
    numbered in the lexicographic order of the keys (as np.unique would, which on 500 K
    text keys compares Python strings: polars' dense rank does it in native code)."""
    cell = np.zeros(len(keys[0]) if len(keys) else 0, np.int64)
    for k in keys:
        code = pl.Series(np.asarray(k)).rank("dense").to_numpy().astype(np.int64) - 1
        cell = cell * (int(code.max()) + 1 if len(code) else 1) + code
    return pl.Series(cell).rank("dense").to_numpy().astype(np.int64) - 1


def fit_gamma_prior(events: np.ndarray, exposure: np.ndarray) -> GammaPrior:
    """Marginal-likelihood fit of Gamma(α, β) for Poisson counts with exposures.

    The marginal of each cell is negative binomial; we maximise it over (log α, log β),
    starting from the method-of-moments solution. With no between-cell variation the
    prior becomes very tight (α, β large), i.e. full pooling.
    """
    y, n = np.asarray(events, float), np.asarray(exposure, float)
    keep = n > 0
    y, n = y[keep], n[keep]
    if not y.sum():
        # No events anywhere: the data say rate 0. Gamma(0, 1) is that point mass, and keeps
        # a lone cell's leave-self-out rate 0 / 1 rather than 0 / 0.
        return GammaPrior(0.0, 1.0)
    a0, b0 = _moments_prior(y, n)

    def nll(theta: np.ndarray) -> float:
        a, b = np.exp(theta)
        ll = (
            special.gammaln(a + y)
            - special.gammaln(a)
            - special.gammaln(y + 1)
            + a * np.log(b / (b + n))
            + y * np.log(n / (b + n))
        )
        return -float(ll.sum())

    res = optimize.minimize(
        nll,
        np.log([a0, b0]),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000},
    )
    a, b = np.exp(res.x) if res.success or np.isfinite(res.fun) else (a0, b0)
    return GammaPrior(float(a), float(b))


def _moments_prior(y: np.ndarray, n: np.ndarray) -> tuple[float, float]:
    """Method of moments: between-cell rate variance net of Poisson noise."""
    mean = y.sum() / n.sum()
    var_between = float(np.var(y / n) - np.mean(mean / n))
    var_between = max(var_between, 1e-6 * mean**2 + 1e-12)
    alpha = mean**2 / var_between
    return float(min(alpha, 1e6)), float(min(alpha, 1e6) / max(mean, 1e-12))


def shrink_rates(cell: np.ndarray, headcount: np.ndarray, observed: np.ndarray) -> CellRates:
    """Per-cell raw and posterior-mean rates from enterprise-level data."""
    cell = np.asarray(cell)
    n_cells = int(cell.max()) + 1 if len(cell) else 0
    events = np.bincount(cell, weights=observed, minlength=n_cells)
    exposure = np.bincount(cell, weights=headcount, minlength=n_cells)
    prior = fit_gamma_prior(events, exposure)
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(exposure > 0, events / exposure, np.nan)
    post = (prior.alpha + events) / (prior.beta + exposure)
    return CellRates(cell, events, exposure, raw, post, prior)


def estimate_dispersion(observed: np.ndarray, expected: np.ndarray) -> float | None:
    """Moment estimate of the NB size r (Var = μ + μ²/r); None when not over-dispersed."""
    o, mu = np.asarray(observed, float), np.asarray(expected, float)
    excess = float(((o - mu) ** 2 - o).sum())  # Σ(o−μ)² − o estimates Σμ²/r
    if excess <= 0:
        return None
    return float((mu**2).sum() / excess)


def p_at_most(
    observed: np.ndarray, expected: np.ndarray, dispersion: float | None = None
) -> np.ndarray:
    """P(X ≤ observed) for X ~ Poisson(expected), or NB with mean `expected` and size r."""
    o, mu = np.asarray(observed, float), np.asarray(expected, float)
    if dispersion is None:
        return stats.poisson.cdf(o, mu)
    r = float(dispersion)
    return stats.nbinom.cdf(o, r, r / (r + mu))


def expected_vs_observed(
    *,
    headcount: np.ndarray,
    observed: np.ndarray,
    cells: Sequence[np.ndarray] | np.ndarray,
    overdispersion: bool | float = False,
    leave_self_out: bool = True,
    score_cap: float = 12.0,
) -> ExpectedResult:
    """Expected injuries and the "improbably few" probability per enterprise.

    `cells` is either a dense cell id per enterprise or a list of key arrays (activity, region,
    size band). With `leave_self_out`, an enterprise's own injuries and headcount are removed
    from its cell's posterior rate, so a large concealer cannot drag its own benchmark down.
    `overdispersion`: False → Poisson; True → NB with r estimated; a float → NB with that r.
    """
    h, o = np.asarray(headcount, float), np.asarray(observed, float)
    cell = cell_index(cells) if isinstance(cells, (list, tuple)) else np.asarray(cells)
    rates = shrink_rates(cell, h, o)
    a, b = rates.prior.alpha, rates.prior.beta
    if leave_self_out:
        rate = (a + rates.events[cell] - o) / (b + rates.exposure[cell] - h)
    else:
        rate = rates.posterior[cell]
    expected = h * rate
    r: float | None
    if overdispersion is True:
        r = estimate_dispersion(o, expected)
    elif overdispersion is False:
        r = None
    else:
        r = float(overdispersion)
    p = p_at_most(o, expected, r)
    score = np.minimum(-np.log10(np.maximum(p, 1e-300)), score_cap)
    return ExpectedResult(expected, o, p, score, np.maximum(expected - o, 0.0), rates, r)
