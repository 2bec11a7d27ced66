"""Capture–recapture estimates of the true number of workplace injuries.

Two sources (e.g. the accident register and hospital trauma visits linked to employment):
Chapman's estimator with Seber's variance and Chao's log-normal interval. Three sources
(register, hospitals, insurer claims): log-linear Poisson models on the 7 observed cells of
the 2³ table, model chosen by AIC, interval by parametric bootstrap.
All estimates assume a closed population within the period and no misclassification of links.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import stats

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class PopulationEstimate:
    """N̂ with a 95 % interval and the implied under-reporting of the registry source."""

    n_hat: float
    ci_low: float
    ci_high: float
    observed: int  # distinct cases seen in at least one source
    registry_count: int
    method: str
    se: float = float("nan")
    model: str = ""
    aic: float = float("nan")

    @property
    def under_reporting(self) -> float:
        """1 − registered / N̂: the share of true cases missing from the registry."""
        return max(0.0, 1.0 - self.registry_count / self.n_hat) if self.n_hat > 0 else 0.0

    @property
    def under_reporting_ci(self) -> tuple[float, float]:
        lo = 1.0 - self.registry_count / self.ci_low if self.ci_low > 0 else 0.0
        hi = 1.0 - self.registry_count / self.ci_high if self.ci_high > 0 else 0.0
        return max(0.0, lo), max(0.0, hi)


# ---------------------------------------------------------------- two sources


def chapman(n1: int, n2: int, m: int) -> PopulationEstimate:
    """Chapman's bias-corrected Lincoln–Petersen estimator; source 1 is the registry.

    N̂ = (n1+1)(n2+1)/(m+1) − 1;
    Seber: Var = (n1+1)(n2+1)(n1−m)(n2−m) / ((m+1)²(m+2));
    Chao's log-normal CI: r + f0/C … r + f0·C, f0 = N̂ − r, C = exp(z·sqrt(ln(1 + Var/f0²))),
    which never falls below the r = n1 + n2 − m cases actually observed.
    """
    if not 0 <= m <= min(n1, n2):
        raise ValueError("need 0 ≤ m ≤ min(n1, n2)")
    n_hat = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    observed = n1 + n2 - m
    lo, hi = _lognormal_ci(n_hat, var, observed)
    return PopulationEstimate(n_hat, lo, hi, observed, n1, "chapman", se=float(np.sqrt(var)))


def seber_normal_ci(n1: int, n2: int, m: int) -> tuple[float, float]:
    """The symmetric Wald interval N̂ ± 1.96·SE (can fall below the observed count)."""
    est = chapman(n1, n2, m)
    return est.n_hat - Z95 * est.se, est.n_hat + Z95 * est.se


def _lognormal_ci(n_hat: float, var: float, observed: int) -> tuple[float, float]:
    f0 = n_hat - observed
    if f0 <= 0 or var <= 0:
        return float(observed), float(max(n_hat, observed))
    c = np.exp(Z95 * np.sqrt(np.log1p(var / f0**2)))
    return float(observed + f0 / c), float(observed + f0 * c)


# ---------------------------------------------------------------- three sources

# Observed cells in a fixed order: capture histories (a, b, c) ≠ (0, 0, 0).
CELLS: tuple[tuple[int, int, int], ...] = tuple(
    h for h in itertools.product((0, 1), repeat=3) if any(h)
)
_PAIRS = {"AB": (0, 1), "AC": (0, 2), "BC": (1, 2)}
DEFAULT_MODELS: tuple[tuple[str, ...], ...] = ((), ("AB",), ("AC",), ("BC",))


def _design(interactions: tuple[str, ...]) -> np.ndarray:
    h = np.array(CELLS, float)
    cols = [np.ones(len(h)), h[:, 0], h[:, 1], h[:, 2]]
    cols += [h[:, _PAIRS[k][0]] * h[:, _PAIRS[k][1]] for k in interactions]
    return np.column_stack(cols)


def fit_poisson(x: np.ndarray, y: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """Poisson GLM (log link) by iteratively reweighted least squares → (β, log-likelihood)."""
    mu = np.maximum(y, 0.5)
    eta = np.log(mu)
    beta = np.zeros(x.shape[1])
    for _ in range(max_iter):
        z = eta + (y - mu) / mu
        w = mu
        xtw = x.T * w
        new = np.linalg.solve(xtw @ x + 1e-10 * np.eye(x.shape[1]), xtw @ z)
        eta = np.clip(x @ new, -50, 50)
        mu = np.exp(eta)
        if np.max(np.abs(new - beta)) < 1e-10:
            beta = new
            break
        beta = new
    loglik = float(stats.poisson.logpmf(y, mu).sum())
    return beta, loglik


def cells_from_histories(histories: np.ndarray) -> np.ndarray:
    """Counts in `CELLS` order from an (n, 3) 0/1 array of per-case capture histories."""
    h = np.asarray(histories, int)
    code = h[:, 0] * 4 + h[:, 1] * 2 + h[:, 2]
    counts = np.bincount(code, minlength=8)
    return np.array([counts[a * 4 + b * 2 + c] for a, b, c in CELLS])


def _n0(counts: np.ndarray, interactions: tuple[str, ...]) -> tuple[float, float]:
    beta, loglik = fit_poisson(_design(interactions), counts.astype(float))
    return float(np.exp(beta[0])), loglik


def loglinear_3(
    counts: np.ndarray | dict[tuple[int, int, int], int],
    *,
    registry: int = 0,
    models: tuple[tuple[str, ...], ...] = DEFAULT_MODELS,
    n_boot: int = 500,
    seed: int = 0,
) -> PopulationEstimate:
    """Three-source log-linear estimate of the population size.

    `counts` holds the 7 observed cells in `CELLS` order (or a dict keyed by capture history).
    Main effects plus the chosen two-way interactions; the unobserved cell is exp(intercept).
    The model with the lowest AIC wins; the 95 % CI is the parametric-bootstrap percentile
    interval of N̂ (cells redrawn as Poisson from the fitted means, the chosen model refitted).
    `registry` is the index (0, 1, 2) of the source whose under-reporting is wanted.
    """
    y = _cells_array(counts)
    fits = []
    for inter in models:
        n0, loglik = _n0(y, inter)
        k = 4 + len(inter)
        fits.append((2 * k - 2 * loglik, inter, n0))
    aic, best, n0 = min(fits, key=lambda t: t[0])
    observed = int(y.sum())
    boot = _bootstrap(y, best, n_boot, seed)
    lo, hi = np.percentile(boot, [2.5, 97.5]) if len(boot) else (np.nan, np.nan)
    reg = int(sum(c for c, h in zip(y, CELLS, strict=True) if h[registry]))
    return PopulationEstimate(
        n_hat=observed + n0,
        ci_low=float(lo),
        ci_high=float(hi),
        observed=observed,
        registry_count=reg,
        method="loglinear",
        se=float(np.std(boot)) if len(boot) else np.nan,
        model="+".join(("A", "B", "C", *best)),
        aic=float(aic),
    )


def _cells_array(counts: np.ndarray | dict[tuple[int, int, int], int]) -> np.ndarray:
    if isinstance(counts, dict):
        return np.array([counts.get(h, 0) for h in CELLS], float)
    y = np.asarray(counts, float)
    if y.shape != (7,):
        raise ValueError("need the 7 observed cells of the 2×2×2 table")
    return y


def _bootstrap(y: np.ndarray, inter: tuple[str, ...], n_boot: int, seed: int) -> np.ndarray:
    x = _design(inter)
    beta, _ = fit_poisson(x, y)
    mu = np.exp(x @ beta)
    rng = np.random.default_rng(seed)
    draws = rng.poisson(mu, size=(n_boot, len(mu))).astype(float)  # same stream as one by one
    out = draws.sum(axis=1) + np.exp(_fit_poisson_many(x, draws)[:, 0])
    return out[np.isfinite(out)]


def _fit_poisson_many(x: np.ndarray, ys: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """`fit_poisson` for many count vectors at once (the bootstrap replicates): the same IRLS
    step batched, each replicate frozen once it has converged."""
    n, k = len(ys), x.shape[1]
    mu = np.maximum(ys, 0.5)
    eta = np.log(mu)
    beta = np.zeros((n, k))
    active = np.arange(n)
    ridge = 1e-10 * np.eye(k)
    for _ in range(max_iter):
        if not len(active):
            break
        m, e = mu[active], eta[active]
        z = e + (ys[active] - m) / m
        xtw = x.T[None, :, :] * m[:, None, :]
        new = np.linalg.solve(xtw @ x + ridge, (xtw @ z[:, :, None]))[:, :, 0]
        eta[active] = np.clip(new @ x.T, -50, 50)
        mu[active] = np.exp(eta[active])
        done = np.max(np.abs(new - beta[active]), axis=1) < 1e-10
        beta[active] = new
        active = active[~done]
    return beta
