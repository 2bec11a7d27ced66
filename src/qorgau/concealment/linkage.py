"""Fellegi–Sunter probabilistic record linkage (numpy + rapidfuzz), with a deterministic stage.

Pipeline: prepare columns (canonical names, YYYYMMDD dates) → candidate pairs from a union of
blocking rules → comparison vectors with agreement levels per field → EM on the *unique*
comparison patterns (so EM costs O(patterns), not O(pairs)) → match weight and posterior →
threshold, optional greedy one-to-one. A deterministic rule (same keyed IIN hash, same employer,
event dates within a window) is applied first and always wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from qorgau.concealment.translit import normalize_name, phonetic_key

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


def per_distinct(s: pl.Series, fn: Callable[[str | None], str]) -> pl.Series:
    """`fn` once per distinct value, joined back (names and keys repeat heavily in registers:
    5 M workers carry a few thousand distinct surnames)."""
    s = s.cast(pl.String).rename("v")
    uniq = s.unique()
    table = pl.DataFrame(
        {"v": uniq, "o": [fn(v) for v in uniq.to_list()]},
        schema={"v": pl.String, "o": pl.String},
    )
    out = s.to_frame().join(table, on="v", how="left", maintain_order="left", nulls_equal=True)
    return out["o"]


def _ymd_series(s: pl.Series) -> pl.Series:
    """Dates as 'YYYYMMDD' text ('' when missing or malformed), vectorised."""
    if s.dtype in (pl.Date, pl.Datetime):
        s = s.dt.strftime("%Y%m%d")
    s = s.cast(pl.String).str.replace_all(r"[^0-9]", "").fill_null("")
    return s.to_frame("d").select(
        pl.when(pl.col("d").str.len_chars() == 8).then(pl.col("d")).otherwise(pl.lit(""))
    )["d"]


def _days(s: pl.Series) -> np.ndarray:
    if s.dtype not in (pl.Date, pl.Datetime):
        s = _ymd_series(s).str.to_date("%Y%m%d", strict=False)
    days = s.cast(pl.Date).cast(pl.Int64)
    return days.fill_null(_NO_DAY).to_numpy()


def _text(s: pl.Series) -> pl.Series:
    return s.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")


@dataclass(frozen=True)
class Column:
    """One side's compared column: codes into its distinct values, code 0 = '' (missing), so
    that a string comparison runs once per distinct pair of values, not once per record pair.
    Day-number columns (date_window) keep the values as codes and have no vocabulary."""

    codes: np.ndarray
    vocab: np.ndarray | None


def _coded(
    raw: pl.Series, text: Callable[[pl.Series], pl.Series], vocab: pl.Series | None = None
) -> tuple[np.ndarray, pl.Series]:
    """Codes of the compared text of `raw` (names canonical, dates YYYYMMDD, codes trimmed) in a
    vocabulary with '' first: its own distinct values, or a given one (values absent from it
    get −1 and equal nothing). The text is made once per distinct raw value (a register's
    birth dates and names repeat), except against a given vocabulary (hashes, all distinct)."""
    raw = raw.rename("r")
    if vocab is not None:
        table = vocab.rename("t").to_frame().with_row_index("c")
        codes = (
            text(raw)
            .rename("t")
            .to_frame()
            .join(table, on="t", how="left", maintain_order="left")["c"]
        )
        return codes.cast(pl.Int64).fill_null(-1).to_numpy(), vocab
    distinct = raw.unique()
    words = text(distinct).rename("t")
    vocab = pl.concat([pl.Series("t", [""]), words]).unique().sort()
    table = (
        pl.DataFrame({"r": distinct, "t": words})
        .join(vocab.to_frame().with_row_index("c"), on="t", how="left")
        .select("r", "c")
    )
    codes = raw.to_frame().join(table, on="r", how="left", maintain_order="left", nulls_equal=True)[
        "c"
    ]
    return codes.cast(pl.Int64).to_numpy(), vocab


def _canonical_names(s: pl.Series) -> pl.Series:
    return pl.Series([normalize_name(v) for v in s.cast(pl.String).to_list()], dtype=pl.String)


def _text_of(f: Field) -> Callable[[pl.Series], pl.Series]:
    if f.kind == "name":
        return _canonical_names
    if f.kind == "date":
        return _ymd_series
    return _text


def prepare_pair(
    left: pl.DataFrame, right: pl.DataFrame, spec: LinkSpec, rows_l: np.ndarray, rows_r: np.ndarray
) -> tuple[dict[str, Column], dict[str, Column]]:
    """Compared columns of the given rows only: a 5 M-row register is compared on the rows
    that share a block with the evidence or fall in the u sample, never prepared whole.
    Exact-agreement columns (hashes) code the right side into the left side's values, so a
    5 M-value vocabulary is never built."""
    lf, rf = left[rows_l], right[rows_r]
    lp: dict[str, Column] = {}
    rp: dict[str, Column] = {}
    for f in spec.fields:
        if f.kind == "date_window":
            lp[f.column] = Column(_days(_column(lf, f.column)), None)
            rp[f.column] = Column(_days(_column(rf, f.column)), None)
            continue
        text = _text_of(f)
        lc, lv = _coded(_column(lf, f.column), text)
        rc, rv = _coded(_column(rf, f.column), text, lv if f.kind == "exact" else None)
        lp[f.column] = Column(lc, lv.to_numpy().astype(object))
        rp[f.column] = Column(rc, rv.to_numpy().astype(object))
    return lp, rp


_KEY_RE = re.compile(r"^(\w+)\((\w+)\)$")


def _prefix(n: int) -> Callable[[str | None], str]:
    return lambda v: normalize_name(v).replace(" ", "")[:n]


def _key(df: pl.DataFrame, expr: str) -> pl.Series:
    """Blocking key values for one key expression ('' = no key, row not blocked)."""
    m = _KEY_RE.match(expr)
    fn, col = (m.group(1), m.group(2)) if m else ("raw", expr)
    s = _column(df, col)
    if fn == "phonetic":
        return per_distinct(s, phonetic_key)
    if fn == "norm":
        return per_distinct(s, normalize_name)
    if fn == "initial":
        return per_distinct(s, _prefix(1))
    if fn.startswith("prefix") and fn[6:].isdigit():
        return per_distinct(s, _prefix(int(fn[6:])))
    if fn == "year":  # an integer year: no text per row for a 5 M-row register
        if s.dtype in (pl.Date, pl.Datetime):
            return s.dt.year().cast(pl.Int32)
        return _ymd_series(s).str.slice(0, 4).cast(pl.Int32, strict=False)
    if fn == "raw":  # dates stay dates (both sides must agree, see _aligned)
        if s.dtype in (pl.Date, pl.Datetime):
            return s
        return s.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    raise ValueError(f"unknown blocking key function {fn!r}")


# ---------------------------------------------------------------- candidates


def _key_frame(df: pl.DataFrame, rule: tuple[str, ...], idx: str) -> pl.DataFrame:
    """Row index and key columns; rows with a missing ('' or null) key are not blocked."""
    data = {f"k{n}": _key(df, expr) for n, expr in enumerate(rule)}
    kf = pl.DataFrame(data).with_row_index(idx)
    present = [
        pl.col(k).is_not_null() & (pl.col(k) != "") if kf[k].dtype == pl.String
        else pl.col(k).is_not_null()
        for k in data
    ]  # fmt: skip
    return kf.filter(pl.all_horizontal(present))


def _key_frames(
    left: pl.DataFrame, right: pl.DataFrame, rule: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Both sides' key frames, the right one cut to the key values present on the left (the
    grouping then never runs over a whole register). Keys of different types on the two sides
    (a date against text) are compared as text."""
    keys = [f"k{n}" for n in range(len(rule))]
    lk, rk = _key_frame(left, rule, "i"), _key_frame(right, rule, "j")
    for k in keys:
        if lk[k].dtype != rk[k].dtype:
            lk, rk = (f.with_columns(pl.col(k).cast(pl.String)) for f in (lk, rk))
    rk = rk.join(lk.select(keys).unique(), on=keys, how="semi")
    return lk, rk, keys


def _block_pairs(
    left: pl.DataFrame, right: pl.DataFrame, rule: tuple[str, ...], max_pairs: int
) -> tuple[np.ndarray, np.ndarray]:
    lk, rk, keys = _key_frames(left, right, rule)
    sizes = lk.group_by(keys).len("nl").join(rk.group_by(keys).len("nr"), on=keys)
    ok = sizes.filter(pl.col("nl") * pl.col("nr") <= max_pairs).select(keys)
    pairs = lk.join(ok, on=keys).join(rk, on=keys).select("i", "j")
    return pairs["i"].to_numpy().astype(np.int64), pairs["j"].to_numpy().astype(np.int64)


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique for a flat integer array by sort + neighbour test: numpy 2.4's hash-based
    np.unique takes minutes on the 20 M pair codes of the national twin, this ~2 s."""
    s = np.sort(x)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


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
    uniq = sorted_unique(np.concatenate(codes))
    return uniq // right.height, uniq % right.height


def deterministic_pairs(
    left: pl.DataFrame, right: pl.DataFrame, spec: LinkSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Exact agreement on all `spec.deterministic` columns (+ the date window, if any)."""
    cols = [c for c in spec.deterministic if c in left.columns and c in right.columns]
    if not cols:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lk, rk, keys = _key_frames(left, right, tuple(cols))
    pairs = lk.join(rk, on=keys)
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


def _pair_levels(f: Field, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Levels of value pairs (neither missing) for the string-like kinds."""
    if len(a) == 0:
        return np.empty(0, np.uint8)
    if f.kind in ("name", "string"):
        return _string_levels(a, b, f)
    if f.kind == "date":
        return _date_levels(a, b)
    return _code_levels(a, b)


_DENSE_PAIRS = 1 << 27  # distinct-value pairs tabulated in a flat array up to this size


def _levels_by_value_pair(
    f: Field, a: Column, b: Column, ca: np.ndarray, cb: np.ndarray
) -> np.ndarray:
    """Compare each distinct (left value, right value) once and spread the levels back;
    a pair with '' (code 0) on either side is level 0, missing."""
    assert a.vocab is not None and b.vocab is not None
    nb = len(b.vocab)
    space = len(a.vocab) * nb
    small = np.int32 if space <= _DENSE_PAIRS else np.int64  # halves the memory traffic
    pc = ca.astype(small) * small(nb) + cb.astype(small)
    if space <= _DENSE_PAIRS:
        seen = np.zeros(space, bool)
        seen[pc] = True
        up = np.flatnonzero(seen)
    else:
        up = sorted_unique(pc)
    ua, ub = up // nb, up % nb
    lv = _pair_levels(f, a.vocab[ua], b.vocab[ub]).astype(np.uint8)
    lv[(ua == 0) | (ub == 0)] = 0
    if space <= _DENSE_PAIRS:
        table = np.zeros(space, np.uint8)
        table[up] = lv
        return table[pc]
    return lv[np.searchsorted(up, pc)]


def _field_levels(f: Field, a: Column, b: Column, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    ca, cb = a.codes[i], b.codes[j]
    if f.kind == "date_window":
        missing = (ca == _NO_DAY) | (cb == _NO_DAY)
        gap = np.abs(ca - cb)
        lv = np.where(gap == 0, 1, np.where(gap <= f.window_days, 2, 3))
        return np.where(missing, 0, lv).astype(np.uint8)
    if f.kind == "exact":  # the right side is coded into the left's values; 0 is ''
        lv = np.where(ca == cb, 1, 2).astype(np.uint8)
        lv[(ca == 0) | (cb == 0)] = 0
        return lv
    return _levels_by_value_pair(f, a, b, ca, cb)


def compare(
    lp: dict[str, Column],
    rp: dict[str, Column],
    i: np.ndarray,
    j: np.ndarray,
    fields: tuple[Field, ...],
) -> np.ndarray:
    """Comparison vectors: an (n_pairs, n_fields) matrix of agreement levels."""
    out = np.zeros((len(i), len(fields)), np.uint8)
    for n, f in enumerate(fields):
        out[:, n] = _field_levels(f, lp[f.column], rp[f.column], i, j)
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


def _used_rows(n: int, *index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows referenced by any index array, and each row's position among them."""
    used = np.zeros(n, bool)
    for x in index:
        used[x] = True
    return np.flatnonzero(used), np.cumsum(used) - 1


def _u_sample(nl: int, nr: int, spec: LinkSpec) -> tuple[np.ndarray, np.ndarray]:
    """Random pairs, which are almost all non-matches: u from them is a good start for EM."""
    rng = np.random.default_rng(spec.seed)
    n = int(min(spec.u_sample_pairs, nl * nr))
    return rng.integers(0, nl, n), rng.integers(0, nr, n)


def _u_from(levels: np.ndarray, fields: tuple[Field, ...]) -> list[np.ndarray]:
    ones = np.ones(len(levels))
    return [_level_freq(levels[:, f], ones, len(LEVELS[x.kind])) for f, x in enumerate(fields)]


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
    min_probability: float | None = None,
    known_matches: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> tuple[pl.DataFrame, LinkModel]:
    """Every candidate pair with weight, probability, method and levels (no threshold; with
    `min_probability` the pairs below it are dropped before the frame is built).

    `known_matches`: two row-aligned frames (same columns as `left` / `right`) of pairs known
    to be the same entity; m is measured on them and held, EM estimates λ and u (`fit_em`)."""
    left, right = _as_polars(left), _as_polars(right)
    ci, cj = candidate_pairs(left, right, spec, self_link=self_link)
    di, dj = deterministic_pairs(left, right, spec)
    if self_link:
        di, dj = np.minimum(di, dj), np.maximum(di, dj)
        di, dj = di[di != dj], dj[di != dj]
    det_codes = sorted_unique(di * right.height + dj)
    i, j = ci, cj  # sorted by pair code, unique
    is_det = np.zeros(len(i), bool)
    if len(det_codes):
        codes = sorted_unique(np.concatenate([ci * right.height + cj, det_codes]))
        i, j = codes // right.height, codes % right.height
        is_det = np.isin(codes, det_codes)
    ui, uj = _u_sample(left.height, right.height, spec)
    # Only rows in a candidate pair or in the u sample are prepared (normalised names, dates).
    rows_l, at_l = _used_rows(left.height, i, ui)
    rows_r, at_r = _used_rows(right.height, j, uj)
    lp, rp = prepare_pair(left, right, spec, rows_l, rows_r)
    levels = compare(lp, rp, at_l[i], at_r[j], spec.fields)
    u0 = _u_from(compare(lp, rp, at_l[ui], at_r[uj], spec.fields), spec.fields)
    prior0 = min(0.5, max(min(left.height, right.height), 1) / max(len(i), 1))
    m_known = _m_known(known_matches, spec) if known_matches is not None else None
    model = fit_em(levels, spec.fields, u0, spec, prior0, m_known)
    weight = model.weights(levels)
    prob = 1.0 / (1.0 + np.exp2(-weight))
    prob[is_det] = 1.0
    if min_probability is not None:
        keep = prob >= min_probability
        i, j, weight, prob, is_det, levels = (x[keep] for x in (i, j, weight, prob, is_det, levels))
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
    return out.with_columns(
        pl.Series(list(LEVELS[f.kind])).gather(levels[:, n]).alias(f"lvl_{f.column}")
        for n, f in enumerate(spec.fields)
    ), model


def _m_known(known: tuple[pl.DataFrame, pl.DataFrame], spec: LinkSpec) -> list[np.ndarray] | None:
    kl, kr = (_as_polars(x) for x in known)
    if kl.height == 0 or kl.height != kr.height:
        return None
    rows = np.arange(kl.height)
    lp, rp = prepare_pair(kl, kr, spec, rows, rows)
    return m_from_matches(compare(lp, rp, rows, rows, spec.fields), spec.fields)


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
