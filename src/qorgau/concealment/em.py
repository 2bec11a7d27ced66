"""m / u estimation of record linkage: EM for (λ, m, u) under conditional independence on the
counts of unique comparison patterns (so EM costs O(patterns), not O(pairs)), m measured on known
matches, u on random pairs; the fitted parameters and their match weights (`LinkModel`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qorgau.concealment.link_spec import LEVELS, Field, LinkSpec


@dataclass
class LinkModel:
    """Fitted parameters; m[f] and u[f] are indexed by level (index 0 = missing, unused)."""

    fields: tuple[Field, ...]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float  # λ: share of matches among candidate pairs
    iterations: int = 0
    n_candidates: int = 0
    n_patterns: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def weights(self, levels: np.ndarray) -> np.ndarray:
        """Total match weight (log2 odds, prior included) for a level matrix."""
        w = np.full(len(levels), np.log2(self.prior / (1 - self.prior)))
        for f in range(len(self.fields)):
            bf = np.log2(self.m[f] / self.u[f])
            bf[0] = 0.0
            w += bf[levels[:, f]]
        return w


def _level_freq(levels: np.ndarray, weights: np.ndarray, n_levels: int) -> np.ndarray:
    counts = np.bincount(levels, weights=weights, minlength=n_levels).astype(float)
    counts[0] = 0.0
    counts[1:] += 1e-3 * (weights.sum() / max(len(weights), 1)) + 1e-9  # keep logs finite
    freq = counts / counts[1:].sum()
    freq[0] = 1.0
    return freq


def _initial_m(n_levels: int) -> np.ndarray:
    m = np.array([1.0] + [0.9 * 0.5**k for k in range(n_levels - 2)] + [0.02])
    m[1:] /= m[1:].sum()
    return m


def unique_patterns(levels: np.ndarray, fields: tuple[Field, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix (lexicographic order) and their counts, by packing each
    row into one mixed-radix number and counting: O(pairs), where np.unique(axis=0) sorts rows."""
    radix = [len(LEVELS[f.kind]) for f in fields]
    code = np.zeros(len(levels), np.int64)
    for f, r in enumerate(radix):
        code = code * r + levels[:, f]
    counts = np.bincount(code, minlength=int(np.prod(radix)))
    present = np.flatnonzero(counts)
    patterns = np.zeros((len(present), len(fields)), levels.dtype)
    rest = present.copy()
    for f in range(len(fields) - 1, -1, -1):
        patterns[:, f] = rest % radix[f]
        rest //= radix[f]
    return patterns, counts[present]


def fit_em(
    levels: np.ndarray,
    fields: tuple[Field, ...],
    u_init: list[np.ndarray],
    spec: LinkSpec,
    prior_init: float = 0.1,
    m_known: list[np.ndarray] | None = None,
) -> LinkModel:
    """EM for (λ, m, u) under conditional independence, on counts of unique patterns.

    With `m_known` (m measured on pairs known to match, e.g. confirmed by a valid IIN) m is held
    there, u is held at `u_init` (random pairs) and EM estimates λ only. Left free, the two
    classes follow whatever splits the candidate set most: under blocking on a birth date *or*
    a surname key, "same birth date, different names" against "same surname, other birth
    date", not match status; and a u re-estimated on the candidates is a product of marginals
    that cannot hold the blocks' dependence (within a block, names agree exactly when birth
    dates do not), so with m held it swallows the matches (λ → 0). Without `m_known`, a fit
    whose "match" class agrees less on the name fields than its "non-match" class is refitted
    the same way with the starting m profile (`extra["refit"]` = 1): the class that agrees on
    names is the match class."""
    patterns, counts = unique_patterns(levels, fields)
    counts = counts.astype(float)
    n_lv = [len(LEVELS[f.kind]) for f in fields]
    m = [x.copy() for x in m_known] if m_known else [_initial_m(k) for k in n_lv]
    if not counts.sum():  # no candidate pairs (no evidence yet): keep the starting model
        return LinkModel(fields, m, [x.copy() for x in u_init], prior_init, 0, 0, 0)
    model = _em(patterns, counts, n_lv, m, u_init, prior_init, spec, held=bool(m_known))
    if not m_known and not _names_agree_more(model.m, model.u, fields):
        model = _em(patterns, counts, n_lv, m, u_init, prior_init, spec, held=True)
        model.extra["refit"] = 1.0
    model.fields = fields
    return model


def _names_agree_more(m: list[np.ndarray], u: list[np.ndarray], fields: tuple[Field, ...]) -> bool:
    """Is "exact" on the name fields more likely among matches than among non-matches?"""
    names = [f for f, x in enumerate(fields) if x.kind == "name"]
    return all(m[f][1] > u[f][1] for f in names)


def _em(
    patterns: np.ndarray,
    counts: np.ndarray,
    n_lv: list[int],
    m: list[np.ndarray],
    u_init: list[np.ndarray],
    prior: float,
    spec: LinkSpec,
    *,
    held: bool,
) -> LinkModel:
    """EM iterations; `held`: m and u stay as given, only λ is estimated."""
    nf = len(n_lv)
    m = [x.copy() for x in m]
    u = [x.copy() for x in u_init]
    n_iter, prev = 0, -np.inf
    while n_iter < spec.em_max_iter:
        n_iter += 1
        lm = np.log(prior) + sum(np.log(m[f][patterns[:, f]]) for f in range(nf))
        lu = np.log1p(-prior) + sum(np.log(u[f][patterns[:, f]]) for f in range(nf))
        top = np.maximum(lm, lu)
        post = np.exp(lm - top) / (np.exp(lm - top) + np.exp(lu - top))
        loglik = float((counts * (top + np.log(np.exp(lm - top) + np.exp(lu - top)))).sum())
        wm, wu = counts * post, counts * (1 - post)
        prior = float(np.clip(wm.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        if not held:
            m = [_level_freq(patterns[:, f], wm, n_lv[f]) for f in range(nf)]
            u = [_level_freq(patterns[:, f], wu, n_lv[f]) for f in range(nf)]
        if abs(loglik - prev) < spec.em_tol * abs(loglik):
            break
        prev = loglik
    return LinkModel((), m, u, prior, n_iter, int(counts.sum()), len(patterns))


def m_from_matches(levels: np.ndarray, fields: tuple[Field, ...]) -> list[np.ndarray]:
    """m per field from the levels of known matches; a field they never fill keeps the
    starting profile."""
    out = []
    for f, x in enumerate(fields):
        k = len(LEVELS[x.kind])
        seen = levels[:, f][levels[:, f] > 0]
        out.append(_level_freq(seen, np.ones(len(seen)), k) if len(seen) else _initial_m(k))
    return out


def u_from(levels: np.ndarray, fields: tuple[Field, ...]) -> list[np.ndarray]:
    ones = np.ones(len(levels))
    return [_level_freq(levels[:, f], ones, len(LEVELS[x.kind])) for f, x in enumerate(fields)]
