"""Fellegi–Sunter probabilistic record linkage (numpy + rapidfuzz), with a deterministic stage.

Pipeline: prepare columns (canonical names, YYYYMMDD dates) → candidate pairs from a union of
blocking rules → comparison vectors with agreement levels per field → EM on the *unique*
comparison patterns (so EM costs O(patterns), not O(pairs)) → match weight and posterior →
threshold, optional greedy one-to-one. A deterministic rule (same keyed IIN hash, same employer,
event dates within a window) is applied first and always wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from qorgau.concealment.translit import normalize_many, phonetic_many

FieldKind = Literal["name", "string", "date", "code", "exact", "date_window"]

# Level 0 is always "missing" (no evidence either way); the last level is always "disagree".
LEVELS: dict[str, tuple[str, ...]] = {
    "name": ("missing", "exact", "close", "far", "disagree"),
    "string": ("missing", "exact", "close", "far", "disagree"),
    "date": ("missing", "exact", "transposed", "one_digit", "disagree"),
    "code": ("missing", "exact", "one_edit", "disagree"),
    "exact": ("missing", "exact", "disagree"),
    "date_window": ("missing", "exact", "within", "disagree"),
}
_NO_DAY = np.iinfo(np.int64).min


@dataclass(frozen=True)
class Field:
    """One compared column (same name on both sides)."""

    column: str
    kind: FieldKind = "name"
    close: float = 0.92  # Jaro–Winkler similarity for "close" (name / string)
    far: float = 0.80  # Jaro–Winkler similarity for "far"
    window_days: int = 7  # date_window: |Δ| ≤ window counts as "within"


@dataclass(frozen=True)
class LinkSpec:
    """What to compare, how to block and how to decide.

    Blocking keys are column names or `phonetic(col)`, `year(col)`, `norm(col)`, `initial(col)`,
    `prefixN(col)` (first N letters of the canonical name).
    """

    id_column: str = "id"
    fields: tuple[Field, ...] = (
        Field("first_name", "name"),
        Field("last_name", "name"),
        Field("birth_date", "date"),
        Field("id_hash", "exact"),
        Field("employer_id", "exact"),
        Field("event_date", "date_window", window_days=7),
    )
    blocking: tuple[tuple[str, ...], ...] = (
        ("phonetic(last_name)", "year(birth_date)"),
        ("birth_date",),
        ("id_hash",),
    )
    deterministic: tuple[str, ...] = ("id_hash", "employer_id")
    deterministic_window: tuple[str, int] | None = ("event_date", 30)
    threshold: float = 0.5  # on the posterior match probability
    one_to_one: bool = False
    max_block_pairs: int = 1_000_000  # a key producing more pairs than this is skipped
    em_max_iter: int = 500
    em_tol: float = 1e-7
    u_sample_pairs: int = 200_000
    seed: int = 0


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


# ---------------------------------------------------------------- preparation


def _as_polars(df: pl.DataFrame | object) -> pl.DataFrame:
    return df if isinstance(df, pl.DataFrame) else pl.from_pandas(df)  # type: ignore[arg-type]


def _column(df: pl.DataFrame, name: str) -> pl.Series:
    if name in df.columns:
        return df[name]
    return pl.Series(name, [None] * df.height, dtype=pl.String)


def _ymd(s: pl.Series) -> np.ndarray:
    """Dates as 'YYYYMMDD' strings ('' when missing or malformed)."""
    if s.dtype in (pl.Date, pl.Datetime):
        s = s.dt.strftime("%Y%m%d")
    s = s.cast(pl.String).str.replace_all(r"[^0-9]", "").fill_null("")
    s = pl.Series(np.where(s.str.len_chars() == 8, s, ""))
    return s.to_numpy().astype(object)


def _days(s: pl.Series) -> np.ndarray:
    if s.dtype not in (pl.Date, pl.Datetime):
        s = pl.Series(_ymd(s)).str.to_date("%Y%m%d", strict=False)
    days = s.cast(pl.Date).cast(pl.Int64)
    return days.fill_null(_NO_DAY).to_numpy()


def _text(s: pl.Series) -> np.ndarray:
    out = s.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    return out.to_numpy().astype(object)


def _prepare(df: pl.DataFrame, spec: LinkSpec) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for f in spec.fields:
        s = _column(df, f.column)
        if f.kind == "name":
            cols[f.column] = np.array(normalize_many(s.cast(pl.String).to_list()), dtype=object)
        elif f.kind == "date":
            cols[f.column] = _ymd(s)
        elif f.kind == "date_window":
            cols[f.column] = _days(s)
        else:
            cols[f.column] = _text(s)
    return cols


_KEY_RE = re.compile(r"^(\w+)\((\w+)\)$")


def _key(df: pl.DataFrame, expr: str) -> list[str]:
    """Blocking key values for one key expression ('' = no key, row not blocked)."""
    m = _KEY_RE.match(expr)
    fn, col = (m.group(1), m.group(2)) if m else ("raw", expr)
    values = _column(df, col).cast(pl.String).to_list()
    if fn == "phonetic":
        return phonetic_many(values)
    if fn == "norm":
        return normalize_many(values)
    if fn == "initial":
        return [v[:1] for v in normalize_many(values)]
    if fn.startswith("prefix") and fn[6:].isdigit():
        return [v.replace(" ", "")[: int(fn[6:])] for v in normalize_many(values)]
    if fn == "year":
        return [str(v)[:4] if len(str(v)) == 8 else "" for v in _ymd(_column(df, col))]
    if fn == "raw":
        return ["" if v is None else v.strip().lower() for v in values]
    raise ValueError(f"unknown blocking key function {fn!r}")


# ---------------------------------------------------------------- candidates


def _key_frame(df: pl.DataFrame, rule: tuple[str, ...], idx: str) -> pl.DataFrame:
    data = {f"k{n}": _key(df, expr) for n, expr in enumerate(rule)}
    kf = pl.DataFrame(data).with_row_index(idx)
    return kf.filter(pl.all_horizontal(pl.col(f"k{n}") != "" for n in range(len(rule))))


def _block_pairs(
    left: pl.DataFrame, right: pl.DataFrame, rule: tuple[str, ...], max_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    keys = [f"k{n}" for n in range(len(rule))]
    lk, rk = _key_frame(left, rule, "i"), _key_frame(right, rule, "j")
    sizes = lk.group_by(keys).len("nl").join(rk.group_by(keys).len("nr"), on=keys)
    ok = sizes.filter(pl.col("nl") * pl.col("nr") <= max_pairs).select(keys)
    pairs = lk.join(ok, on=keys).join(rk, on=keys).select("i", "j")
    return pairs["i"].to_numpy().astype(np.int64), pairs["j"].to_numpy().astype(np.int64)


def candidate_pairs(
    left: pl.DataFrame, right: pl.DataFrame, spec: LinkSpec, *, self_link: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Union of the pairs from every blocking rule, as (left row, right row) index arrays."""
    codes = [np.empty(0, np.int64)]
    for rule in spec.blocking:
        i, j = _block_pairs(left, right, rule, spec.max_block_pairs)
        if self_link:
            keep = i < j
            i, j = i[keep], j[keep]
        codes.append(i * right.height + j)
    uniq = np.unique(np.concatenate(codes))
    return uniq // right.height, uniq % right.height


def deterministic_pairs(
    left: pl.DataFrame, right: pl.DataFrame, spec: LinkSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Exact agreement on all `spec.deterministic` columns (+ the date window, if any)."""
    cols = [c for c in spec.deterministic if c in left.columns and c in right.columns]
    if not cols:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lk = _key_frame(left, tuple(cols), "i")
    rk = _key_frame(right, tuple(cols), "j")
    pairs = lk.join(rk, on=[f"k{n}" for n in range(len(cols))])
    i, j = pairs["i"].to_numpy().astype(np.int64), pairs["j"].to_numpy().astype(np.int64)
    if spec.deterministic_window and spec.deterministic_window[0] in left.columns:
        col, days = spec.deterministic_window
        dl, dr = _days(left[col])[i], _days(right[col])[j]
        ok = (dl != _NO_DAY) & (dr != _NO_DAY) & (np.abs(dl - dr) <= days)
        i, j = i[ok], j[ok]
    return i, j


# ---------------------------------------------------------------- comparison


def _string_levels(a: np.ndarray, b: np.ndarray, f: Field) -> np.ndarray:
    sim = process.cpdist(list(a), list(b), scorer=JaroWinkler.normalized_similarity, workers=-1)
    lv = np.where(a == b, 1, np.where(sim >= f.close, 2, np.where(sim >= f.far, 3, 4)))
    return lv


def _date_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa, sb = a.astype("U8"), b.astype("U8")
    swapped = np.char.add(np.char.add(_sl(sb, 0, 4), _sl(sb, 6, 8)), _sl(sb, 4, 6))
    dist = process.cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
    return np.where(sa == sb, 1, np.where(sa == swapped, 2, np.where(dist <= 1, 3, 4)))


def _sl(s: np.ndarray, start: int, stop: int) -> np.ndarray:
    return s.view("U1").reshape(len(s), -1)[:, start:stop].copy().view(f"U{stop - start}")[:, 0]


def _code_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dist = process.cpdist(list(a), list(b), scorer=Levenshtein.distance, workers=-1)
    return np.where(a == b, 1, np.where(dist <= 1, 2, 3))


def _field_levels(f: Field, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if f.kind == "date_window":
        missing = (a == _NO_DAY) | (b == _NO_DAY)
        gap = np.abs(a - b)
        lv = np.where(gap == 0, 1, np.where(gap <= f.window_days, 2, 3))
    else:
        missing = (a == "") | (b == "")
        if len(a) == 0:
            lv = np.empty(0, np.int64)
        elif f.kind in ("name", "string"):
            lv = _string_levels(a, b, f)
        elif f.kind == "date":
            lv = _date_levels(a, b)
        elif f.kind == "code":
            lv = _code_levels(a, b)
        else:
            lv = np.where(a == b, 1, 2)
    return np.where(missing, 0, lv).astype(np.uint8)


def compare(
    lp: dict[str, np.ndarray],
    rp: dict[str, np.ndarray],
    i: np.ndarray,
    j: np.ndarray,
    fields: tuple[Field, ...],
) -> np.ndarray:
    """Comparison vectors: an (n_pairs, n_fields) matrix of agreement levels."""
    out = np.zeros((len(i), len(fields)), np.uint8)
    for n, f in enumerate(fields):
        out[:, n] = _field_levels(f, lp[f.column][i], rp[f.column][j])
    return out


# ---------------------------------------------------------------- EM


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


def fit_em(
    levels: np.ndarray,
    fields: tuple[Field, ...],
    u_init: list[np.ndarray],
    spec: LinkSpec,
    prior_init: float = 0.1,
) -> LinkModel:
    """EM for (λ, m, u) under conditional independence, on counts of unique patterns."""
    patterns, counts = np.unique(levels, axis=0, return_counts=True)
    counts = counts.astype(float)
    n_lv = [len(LEVELS[f.kind]) for f in fields]
    m = [_initial_m(k) for k in n_lv]
    u = [x.copy() for x in u_init]
    prior, n_iter = prior_init, 0
    if not counts.sum():  # no candidate pairs (no evidence yet): keep the starting model
        return LinkModel(fields, m, u, prior, 0, 0, 0)
    prev = -np.inf
    while n_iter < spec.em_max_iter:
        n_iter += 1
        lm = np.log(prior) + sum(np.log(m[f][patterns[:, f]]) for f in range(len(fields)))
        lu = np.log1p(-prior) + sum(np.log(u[f][patterns[:, f]]) for f in range(len(fields)))
        top = np.maximum(lm, lu)
        post = np.exp(lm - top) / (np.exp(lm - top) + np.exp(lu - top))
        loglik = float((counts * (top + np.log(np.exp(lm - top) + np.exp(lu - top)))).sum())
        wm, wu = counts * post, counts * (1 - post)
        prior = float(np.clip(wm.sum() / counts.sum(), 1e-9, 1 - 1e-9))
        m = [_level_freq(patterns[:, f], wm, n_lv[f]) for f in range(len(fields))]
        u = [_level_freq(patterns[:, f], wu, n_lv[f]) for f in range(len(fields))]
        if abs(loglik - prev) < spec.em_tol * abs(loglik):
            break
        prev = loglik
    return LinkModel(fields, m, u, prior, n_iter, int(counts.sum()), len(patterns))


def _random_u(
    lp: dict[str, np.ndarray], rp: dict[str, np.ndarray], nl: int, nr: int, spec: LinkSpec
) -> list[np.ndarray]:
    """u from random pairs, which are almost all non-matches: a good starting point for EM."""
    rng = np.random.default_rng(spec.seed)
    n = int(min(spec.u_sample_pairs, nl * nr))
    i, j = rng.integers(0, nl, n), rng.integers(0, nr, n)
    lv = compare(lp, rp, i, j, spec.fields)
    ones = np.ones(n)
    return [_level_freq(lv[:, f], ones, len(LEVELS[x.kind])) for f, x in enumerate(spec.fields)]


# ---------------------------------------------------------------- decision


def _one_to_one(i: np.ndarray, j: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Greedy by weight: keep a pair only if neither record is already taken."""
    used_l: set[int] = set()
    used_r: set[int] = set()
    keep = np.zeros(len(i), bool)
    for k in order:
        a, b = int(i[k]), int(j[k])
        if a not in used_l and b not in used_r:
            used_l.add(a)
            used_r.add(b)
            keep[k] = True
    return keep


def score_pairs(
    left: pl.DataFrame | object,
    right: pl.DataFrame | object,
    *,
    spec: LinkSpec,
    self_link: bool = False,
) -> tuple[pl.DataFrame, LinkModel]:
    """Every candidate pair with weight, probability, method and levels (no threshold)."""
    left, right = _as_polars(left), _as_polars(right)
    lp, rp = _prepare(left, spec), _prepare(right, spec)
    ci, cj = candidate_pairs(left, right, spec, self_link=self_link)
    di, dj = deterministic_pairs(left, right, spec)
    if self_link:
        di, dj = np.minimum(di, dj), np.maximum(di, dj)
        di, dj = di[di != dj], dj[di != dj]
    det_codes = np.unique(di * right.height + dj)
    codes = np.union1d(ci * right.height + cj, det_codes)
    i, j = codes // right.height, codes % right.height
    levels = compare(lp, rp, i, j, spec.fields)
    u0 = _random_u(lp, rp, left.height, right.height, spec)
    prior0 = min(0.5, max(min(left.height, right.height), 1) / max(len(i), 1))
    model = fit_em(levels, spec.fields, u0, spec, prior0)
    weight = model.weights(levels)
    prob = 1.0 / (1.0 + np.exp2(-weight))
    is_det = np.isin(codes, det_codes)
    prob = np.where(is_det, 1.0, prob)
    ids_l, ids_r = left[spec.id_column].to_numpy(), right[spec.id_column].to_numpy()
    out = pl.DataFrame(
        {
            "left_id": ids_l[i],
            "right_id": ids_r[j],
            "weight": weight,
            "probability": prob,
            "method": np.where(is_det, "deterministic", "probabilistic"),
            "_i": i,
            "_j": j,
        }
    )
    for n, f in enumerate(spec.fields):
        out = out.with_columns(pl.Series(f"lvl_{f.column}", np.array(LEVELS[f.kind])[levels[:, n]]))
    return out, model


def decide(scored: pl.DataFrame, spec: LinkSpec) -> pl.DataFrame:
    """Apply the threshold and, if asked, greedy one-to-one (deterministic pairs first)."""
    out = scored.filter(pl.col("probability") >= spec.threshold)
    if spec.one_to_one and out.height:
        det = (out["method"] == "deterministic").to_numpy()
        order = np.lexsort((-out["weight"].to_numpy(), ~det))
        keep = _one_to_one(out["_i"].to_numpy(), out["_j"].to_numpy(), order)
        out = out.filter(pl.Series(keep))
    return out.sort("weight", descending=True).drop("_i", "_j")


def link(
    left: pl.DataFrame | object, right: pl.DataFrame | object, *, spec: LinkSpec
) -> pl.DataFrame:
    """Link two sources: pairs (left_id, right_id, weight, probability, method, lvl_*)."""
    scored, _ = score_pairs(left, right, spec=spec)
    return decide(scored, spec)


def dedupe(df: pl.DataFrame | object, spec: LinkSpec) -> pl.DataFrame:
    """Duplicate pairs within one source (left_id < right_id by row order)."""
    scored, _ = score_pairs(df, df, spec=spec, self_link=True)
    return decide(scored, LinkSpec(**{**spec.__dict__, "one_to_one": False}))
