"""Fellegi–Sunter probabilistic record linkage (numpy + rapidfuzz), with a deterministic stage.

Pipeline: prepare columns (canonical names, YYYYMMDD dates) → candidate pairs from a union of
blocking rules → comparison vectors with agreement levels per field → EM on the *unique*
comparison patterns (so EM costs O(patterns), not O(pairs)) → match weight and posterior →
threshold, optional greedy one-to-one. A deterministic rule (same keyed IIN hash, same employer,
event dates within a window) is applied first and always wins.

This module prepares the columns, blocks, scores and decides; the specification lives in
link_spec.py, the comparison vectors in comparisons.py, the m / u estimation in em.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import polars as pl

from qorgau.concealment.comparisons import compare, sorted_unique
from qorgau.concealment.em import LinkModel, fit_em, m_from_matches, u_from, unique_patterns
from qorgau.concealment.link_spec import LEVELS, NO_DAY, Column, Field, FieldKind, LinkSpec
from qorgau.concealment.translit import normalize_name, phonetic_key

# The steps moved to their own modules stay importable from here, the linkage entry point.
__all__ = [
    "LEVELS",
    "Column",
    "Field",
    "FieldKind",
    "LinkModel",
    "LinkSpec",
    "candidate_pairs",
    "compare",
    "decide",
    "dedupe",
    "deterministic_pairs",
    "fit_em",
    "link",
    "m_from_matches",
    "per_distinct",
    "prepare_pair",
    "score_pairs",
    "sorted_unique",
    "unique_patterns",
]


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
    return days.fill_null(NO_DAY).to_numpy()


def _text(s: pl.Series) -> pl.Series:
    return s.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")


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
        ok = (dl != NO_DAY) & (dr != NO_DAY) & (np.abs(dl - dr) <= days)
        i, j = i[ok], j[ok]
    return i, j


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
    u0 = u_from(compare(lp, rp, at_l[ui], at_r[uj], spec.fields), spec.fields)
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
