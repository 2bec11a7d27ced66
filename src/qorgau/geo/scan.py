"""One request's pass over a PointIndex's columns (geo/cluster.py): the filters as lookup
tables for the kernel (`filter_plan`), the index slices covering a viewport or a set of grid cells,
the numba passes that aggregate cells and collect points (geo/kernel.py), and the
`ClusterResult` assembled from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from qorgau.geo.filters import Filters, InvalidFilter
from qorgau.geo.grid import N_BANDS
from qorgau.geo.kernel import BAND_SHIFT, WORLD_BITS, aggregate_kernel, collect_kernel, morton
from qorgau.geo.result import ClusterResult

MAX_RANGE_CELLS = 64  # quadtree squares used to cover a viewport
ONE_CELL = (63, 0, 0, 1, 1)  # a grid of one cell: `count` uses the same scan
_NO_OUT = np.zeros(0, dtype=np.int64)
_ON_REGION, _ON_ACTIVITY, _ON_SMALL, _ON_FLAGS, _ON_IDS = 1, 2, 4, 8, 16  # kernel._passes


@dataclass(frozen=True, slots=True)
class Plan:
    # (4, 256) uint8: region, section, division, and size|hazardous|band (bits 24-28 of word)
    luts: np.ndarray
    # int64 [filters on (_ON_* bits), flag bits set, flag bits clear, id index mask]
    opts: np.ndarray
    sel: np.ndarray  # bool mask over points in index order (size 1 when unused)


def _lut(values: Sequence[int]) -> np.ndarray:
    row = np.zeros(256, dtype=np.bool_)
    row[list(values)] = True
    return row


_SMALL = np.arange(256)  # bits 24.. of the word: size (2 bits), hazardous, band (2 bits)


def filter_plan(
    f: Filters,
    flag_bit: Mapping[str, int],
    no_sel: np.ndarray,
    id_mask: Callable[[tuple[int, ...]], np.ndarray],
) -> Plan:
    """The lookup tables and options the kernel applies for `f`; `id_mask` marks `f.ids`."""
    luts, on = np.ones((4, 256), dtype=np.uint8), 0
    if f.regions:
        luts[0], on = _lut(f.region_values()), on | _ON_REGION
    if f.activities:
        secs, divs = f.activity_values()
        luts[1], luts[2], on = _lut(secs), _lut(divs), on | _ON_ACTIVITY
    if f.sizes or f.risk_bands or f.hazardous is not None:
        small = np.ones(256, dtype=np.bool_)
        if f.sizes:
            small &= _lut(f.size_values())[_SMALL & 3]
        if f.hazardous is not None:
            small &= int(f.hazardous) == (_SMALL >> 2) & 1
        if f.risk_bands:
            small &= _lut(f.risk_values())[(_SMALL >> 3) & 3]
        luts[3], on = small, on | _ON_SMALL
    set_bits = clear_bits = 0
    for name, want in f.flags.items():
        if name not in flag_bit:
            raise InvalidFilter(name, "unknown layer flag")
        if want:
            set_bits |= flag_bit[name]
        else:
            clear_bits |= flag_bit[name]
    if set_bits or clear_bits:
        on |= _ON_FLAGS
    sel = no_sel
    if f.ids is not None:
        sel, on = id_mask(f.ids), on | _ON_IDS
    opts = np.array([on, set_bits, clear_bits, -1 if f.ids is not None else 0], np.int64)
    return Plan(luts, opts, sel)


def viewport_ranges(
    keys: np.ndarray, px: tuple[int, int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Index slices covering the viewport: ≤ MAX_RANGE_CELLS quadtree squares, merged."""
    x0, y0, x1, y1 = px
    s = 0
    while ((x1 >> s) - (x0 >> s) + 1) * ((y1 >> s) - (y0 >> s) + 1) > MAX_RANGE_CELLS:
        s += 1
    xs = np.arange(x0 >> s, (x1 >> s) + 1, dtype=np.uint64)
    ys = np.arange(y0 >> s, (y1 >> s) + 1, dtype=np.uint64)
    codes = np.sort(morton(*[a.ravel() for a in np.meshgrid(xs, ys)]))
    lo, hi = codes << np.uint64(2 * s), (codes + np.uint64(1)) << np.uint64(2 * s)
    starts = np.searchsorted(keys, lo).astype(np.int64)
    stops = np.searchsorted(keys, hi).astype(np.int64)
    keep = stops > starts
    starts, stops = starts[keep], stops[keep]
    if len(starts) > 1:  # merge slices that touch
        new = np.concatenate([[True], starts[1:] != stops[:-1]])
        ends = np.concatenate([np.flatnonzero(new)[1:] - 1, [len(stops) - 1]])
        starts, stops = starts[new], stops[ends]
    return starts, stops


def cell_ranges(
    keys: np.ndarray, grid: tuple[int, ...], expand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Index slices of the given grid cells (a cell at `shift` is one quadtree square)."""
    shift, cx0, cy0, gw = grid[0], grid[1], grid[2], grid[3]
    cells = np.flatnonzero(expand)
    cx = (cells % gw + cx0).astype(np.uint64)
    cy = (cells // gw + cy0).astype(np.uint64)
    codes = np.sort(morton(cx, cy))
    lo, hi = codes << np.uint64(2 * shift), (codes + np.uint64(1)) << np.uint64(2 * shift)
    starts = np.searchsorted(keys, lo).astype(np.int64)
    stops = np.searchsorted(keys, hi).astype(np.int64)
    keep = stops > starts
    return starts[keep], stops[keep]


def aggregate(
    c: Mapping[str, np.ndarray],
    bounds: np.ndarray,
    ranges: tuple[np.ndarray, np.ndarray],
    plan: Plan,
    box: np.ndarray,
    grid: tuple[int, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = grid[3] * grid[4]
    count, sums = np.zeros(size, np.int64), np.zeros((size, 3), np.float64)
    bands = np.zeros((size, N_BANDS), np.int64)
    aggregate_kernel(
        *ranges,
        c["keys"],
        bounds,
        c["word"],
        c["flags"],
        plan.sel,
        c["lon"],
        c["lat"],
        c["gx"],
        c["gy"],
        c["score"],
        plan.luts,
        plan.opts,
        box,
        np.array(grid, np.int64),
        count,
        sums,
        bands,
    )
    return count, sums, bands


def collect(
    c: Mapping[str, np.ndarray],
    bounds: np.ndarray,
    ranges: tuple[np.ndarray, np.ndarray],
    plan: Plan,
    box: np.ndarray,
    grid: tuple[int, ...],
    expand: np.ndarray,
    n: int,
) -> np.ndarray:
    if n == 0:
        return _NO_OUT
    out = np.empty(n, np.int64)
    k = collect_kernel(
        *ranges,
        bounds,
        c["word"],
        c["flags"],
        plan.sel,
        c["lon"],
        c["lat"],
        c["gx"],
        c["gy"],
        plan.luts,
        plan.opts,
        box,
        np.array(grid, np.int64),
        expand,
        out,
    )
    return out[:k]


def cluster_result(
    c: Mapping[str, np.ndarray],
    zoom: int,
    grid: tuple[int, int, int, int, int],
    count: np.ndarray,
    sums: np.ndarray,
    bands: np.ndarray,
    expand: np.ndarray,
    pts: np.ndarray,
) -> ClusterResult:
    shift, cx0, cy0, gw, _ = grid
    cells = np.flatnonzero((count > 0) & ~expand)
    n = count[cells]
    cx = (cells % gw + cx0).astype(np.uint64)
    cy = (cells // gw + cy0).astype(np.uint64)
    return ClusterResult(
        zoom=zoom,
        level=WORLD_BITS - shift,
        cell_px=1 << (shift - (WORLD_BITS - 8 - zoom)),
        total=int(count.sum()),
        keys=morton(cx, cy),
        counts=n,
        lon=sums[cells, 0] / n,
        lat=sums[cells, 1] / n,
        mean_score=sums[cells, 2] / n,
        band_counts=bands[cells],
        point_ids=c["ids"][pts],
        point_lon=c["lon"][pts],
        point_lat=c["lat"][pts],
        point_band=(c["word"][pts] >> np.uint32(BAND_SHIFT)).astype(np.uint8),
    )
