"""The map index of one database as requests see it: the PointIndex plus the arrays aligned
with its enterprise ids and what the freshness checks need (geo/index.py builds and swaps it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qorgau.geo.cluster import PointIndex


@dataclass
class Snapshot:
    index: PointIndex
    seq: int  # audit sequence the index reflects
    built: float  # time.monotonic() of the build
    seconds: float  # build duration
    region_of: dict[int, str]  # ISO numeric -> "KZ-nn"
    ids: np.ndarray  # sorted enterprise ids, aligned with score / band / region
    score: np.ndarray
    band: np.ndarray
    region: np.ndarray
    layer_errors: dict[str, str] = field(default_factory=dict)
    risk_source: str = "registry"
    checked: float = 0.0
    stamp: dict[str, int] = field(default_factory=dict)  # geo/store.py data stamp at build
    # BINs as numbers, sorted, with their enterprise ids: a BIN-prefix search (`q=9912…`)
    # answered in memory. None when some BIN is not 12 digits (the search then asks SQL).
    bins: np.ndarray | None = None
    bin_ids: np.ndarray | None = None
