"""What record linkage compares and how it decides: the field kinds with their agreement levels,
the compared fields (`Field`), the linkage settings (`LinkSpec`) and one side's prepared column
(`Column`), shared by preparation and blocking (linkage.py), comparison (comparisons.py) and
m / u estimation (em.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

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
NO_DAY = np.iinfo(np.int64).min


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


@dataclass(frozen=True)
class Column:
    """One side's compared column: codes into its distinct values, code 0 = '' (missing), so
    that a string comparison runs once per distinct pair of values, not once per record pair.
    Day-number columns (date_window) keep the values as codes and have no vocabulary."""

    codes: np.ndarray
    vocab: np.ndarray | None
