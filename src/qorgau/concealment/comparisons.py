"""Comparison vectors of record linkage: per candidate pair and compared field an agreement
level (`LEVELS`: exact, close, far, transposed date, one edit…), each distinct pair of values
compared once (rapidfuzz Jaro–Winkler and Levenshtein)."""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from qorgau.concealment.link_spec import NO_DAY, Column, Field


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
        missing = (ca == NO_DAY) | (cb == NO_DAY)
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
