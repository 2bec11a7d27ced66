"""Vectorised IIN / BIN generation: unique by construction, check digit as in core.identifiers.

`core.identifiers.complete()` does one number at a time; at national scale (millions of IINs)
the same arithmetic is done here on digit matrices. Tests compare both on samples.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_W1 = np.arange(1, 12, dtype=np.int64)
_W2 = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2], dtype=np.int64)
_POW10 = 10 ** np.arange(10, -1, -1, dtype=np.int64)  # digit weights of an 11-digit prefix


def check_digits(prefix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check digit of each 11-digit prefix (int64) and whether the number is usable."""
    digits = (prefix[:, None] // _POW10[None, :]) % 10
    first = (digits @ _W1) % 11
    second = (digits @ _W2) % 11
    check = np.where(first != 10, first, second)
    return check, check != 10


def rank_within(key: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """0-based random rank of each element among the elements sharing its key."""
    n = len(key)
    order = np.lexsort((rng.random(n), key))
    sorted_key = key[order]
    new_group = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    starts = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts
    return rank


def _serial(key: np.ndarray, rank: np.ndarray, modulus: int) -> np.ndarray:
    # 7919 is prime and coprime with 10^k, so distinct ranks (< modulus) give distinct serials.
    if len(rank) and rank.max() >= modulus:
        raise ValueError("too many identifiers share one prefix")
    return (key * 37 + rank * 7919) % modulus


def _first_valid(key: np.ndarray, rank: np.ndarray, modulus: int, shift: int) -> np.ndarray:
    """Full numbers: each rank owns 4 serials (4·rank … 4·rank+3); the first whose prefix has
    a usable check digit wins (like skipping prefixes for which `complete()` is None)."""
    number = np.full(len(key), -1, dtype=np.int64)
    todo = np.arange(len(key))
    for j in range(4):  # ~9 % of prefixes need a second try, ~1 % a third
        prefix = key[todo] * shift + _serial(key[todo], rank[todo] * 4 + j, modulus)
        check, ok = check_digits(prefix)
        number[todo[ok]] = prefix[ok] * 10 + check[ok]
        todo = todo[~ok]
    if len(todo):
        raise ValueError("no usable identifier for a prefix")
    return number


def make_iins(rng: np.random.Generator, birth_days: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Unique valid IINs (int64; format with `as_text`). birth_days: days since 1970-01-01."""
    dates = birth_days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    century = np.where(years >= 2000, 5, 3) + (~male).astype(np.int64)
    key = ((years % 100) * 10_000 + months * 100 + days) * 10 + century
    return _first_valid(key, rank_within(key, rng), 10_000, 10_000)


def make_bins(rng: np.random.Generator, reg_year: np.ndarray, reg_month: np.ndarray) -> np.ndarray:
    """Unique valid BINs (int64) of resident head offices: YYMM, 4, 0, 5-digit serial, check."""
    key = ((reg_year % 100) * 100 + reg_month) * 10 + 4  # entity type 4: resident legal entity
    # shift 10^6: the branch digit 0 is the leading digit of the 6-digit tail.
    return _first_valid(key, rank_within(key, rng), 100_000, 1_000_000)


def as_text(numbers: np.ndarray) -> np.ndarray:
    """12-digit zero-padded strings (numpy object array)."""
    return digits_series(numbers).to_numpy()


def digits_series(numbers: np.ndarray) -> pl.Series:
    """12-digit zero-padded strings as a polars Series (fast path for loading)."""
    return pl.Series(numbers, dtype=pl.Int64).cast(pl.String).str.zfill(12)
