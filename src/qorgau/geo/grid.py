"""Viewports and grids: validating a bbox and zoom, the grid of 64 px cells covering a viewport,
merging cells for payload control and choosing which cells are sent as points."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qorgau.geo.filters import RISK_BANDS, GeoInputError
from qorgau.geo.kernel import MERC_MAX_LAT, WORLD_BITS, to_gx, to_gy

MAX_ZOOM = 18
CELL_BITS = 6  # 64 px cells
POINTS_ZOOM = 14  # from this zoom every cell may be expanded into its points
SMALL_CELL = 3  # below POINTS_ZOOM, cells this small are sent as points
MAX_CLUSTERS = 400  # ≈ 20 KB of clusters
MAX_POINTS = 600  # ≈ 20 KB of points
MAX_VIEWPORT_PX = 8192  # per side, at the requested zoom
KZ_EXTENT = (46.0, 40.0, 88.0, 56.0)  # west, south, east, north
EXTENT_MARGIN = 10.0  # degrees; a viewport must touch the extent grown by this much
N_BANDS = len(RISK_BANDS)


class InvalidViewport(GeoInputError):
    """A bbox or zoom the map cannot serve."""


@dataclass(frozen=True, slots=True)
class Viewport:
    box: np.ndarray  # float64 [west, south, east, north], clipped to Mercator's range
    px: tuple[int, int, int, int]  # gx0, gy0, gx1, gy1 at zoom 18 (gy0 is the north edge)


def check_zoom(zoom: object) -> int:
    if isinstance(zoom, bool) or not isinstance(zoom, int | np.integer):
        raise InvalidViewport("zoom", f"must be an integer, got {zoom!r}")
    if not 0 <= int(zoom) <= MAX_ZOOM:
        raise InvalidViewport("zoom", f"must be in 0..{MAX_ZOOM}, got {zoom}")
    return int(zoom)


def viewport(bbox: Sequence[float], zoom: int | None) -> Viewport:
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise InvalidViewport("bbox", "expected four numbers: west, south, east, north") from exc
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise InvalidViewport("bbox", "coordinates must be finite")
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise InvalidViewport("bbox", "coordinates out of range (lon ±180, lat ±90)")
    if w >= e or s >= n:
        raise InvalidViewport("bbox", "inverted or empty: need west < east and south < north")
    kw, ks, ke, kn = KZ_EXTENT
    m = EXTENT_MARGIN
    if e < kw - m or w > ke + m or n < ks - m or s > kn + m:
        raise InvalidViewport("bbox", "does not intersect Kazakhstan's extent")
    s, n = max(s, -MERC_MAX_LAT), min(n, MERC_MAX_LAT)
    px = (
        int(to_gx(np.array([w]))[0]),
        int(to_gy(np.array([n]))[0]),
        int(to_gx(np.array([e]))[0]),
        int(to_gy(np.array([s]))[0]),
    )
    if zoom is not None:
        scale = 1 << (WORLD_BITS - 8 - zoom)
        if max(px[2] - px[0], px[3] - px[1]) / scale > MAX_VIEWPORT_PX:
            raise InvalidViewport("bbox", f"larger than {MAX_VIEWPORT_PX} px at zoom {zoom}")
    return Viewport(np.array([w, s, e, n], dtype=np.float64), px)


def grid_of(px: tuple[int, int, int, int], shift: int) -> tuple[int, int, int, int, int]:
    x0, y0, x1, y1 = (v >> shift for v in px)
    return shift, x0, y0, x1 - x0 + 1, y1 - y0 + 1


def choose_expanded(count: np.ndarray, zoom: int) -> np.ndarray:
    """Cells sent as points: all at POINTS_ZOOM+ (else tiny ones), smallest first, in budget."""
    limit = count.max(initial=0) if zoom >= POINTS_ZOOM else SMALL_CELL
    cand = np.flatnonzero((count > 0) & (count <= limit))
    cand = cand[np.argsort(count[cand], kind="stable")]
    fits = cand[np.cumsum(count[cand]) <= MAX_POINTS]
    expand = np.zeros(len(count), dtype=np.bool_)
    expand[fits] = True
    return expand


def coarsen(
    grid: tuple[int, int, int, int, int], count: np.ndarray, sums: np.ndarray, bands: np.ndarray
) -> tuple[tuple[int, int, int, int, int], np.ndarray, np.ndarray, np.ndarray]:
    """Merge 2×2 cells: same data one quadtree level up (payload control)."""
    shift, cx0, cy0, gw, gh = grid
    nx0, ny0 = cx0 >> 1, cy0 >> 1
    nw, nh = ((cx0 + gw - 1) >> 1) - nx0 + 1, ((cy0 + gh - 1) >> 1) - ny0 + 1
    xs = ((cx0 + np.arange(gw)) >> 1) - nx0
    ys = ((cy0 + np.arange(gh)) >> 1) - ny0
    idx = (ys[:, None] * nw + xs[None, :]).ravel()
    size = nw * nh

    def fold(col: np.ndarray) -> np.ndarray:
        return np.bincount(idx, weights=col, minlength=size)

    new_count = fold(count).astype(np.int64)
    new_sums = np.stack([fold(sums[:, j]) for j in range(sums.shape[1])], axis=1)
    new_bands = np.stack([fold(bands[:, j]) for j in range(N_BANDS)], axis=1).astype(np.int64)
    return (shift + 1, nx0, ny0, nw, nh), new_count, new_sums, new_bands
