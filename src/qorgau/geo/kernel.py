"""The clustering kernel: Web-Mercator pixel coordinates at zoom 18, Morton keys, and the one
numba pass per request that filters and aggregates (docs/map-clustering.md, "Design")."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

WORLD_BITS = 26  # pixel coordinates at zoom 18 with 256 px tiles: 2**(18 + 8)
MERC_MAX_LAT = 85.05112878


# --- projection and keys --------------------------------------------------------------------
def to_gx(lon: np.ndarray) -> np.ndarray:
    x = (np.asarray(lon, dtype=np.float64) + 180.0) / 360.0
    return np.clip(np.floor(x * (1 << WORLD_BITS)), 0, (1 << WORLD_BITS) - 1).astype(np.uint32)


def to_gy(lat: np.ndarray) -> np.ndarray:
    phi = np.radians(np.clip(np.asarray(lat, dtype=np.float64), -MERC_MAX_LAT, MERC_MAX_LAT))
    y = (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / math.pi) / 2.0
    return np.clip(np.floor(y * (1 << WORLD_BITS)), 0, (1 << WORLD_BITS) - 1).astype(np.uint32)


def spread_bits(v: np.ndarray) -> np.ndarray:
    x = np.asarray(v, dtype=np.uint64)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        x = (x | (x << np.uint64(shift))) & np.uint64(mask)
    return x


def morton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return spread_bits(x) | (spread_bits(y) << np.uint64(1))


# --- kernels (numba; nogil so several requests can run on several cores) --------------------
@njit(cache=True, nogil=True)
def _flush(c, n, sx, sy, ss, b0, b1, b2, b3, count, sums, bands):  # type: ignore[no-untyped-def]
    count[c] += n
    sums[c, 0] += sx
    sums[c, 1] += sy
    sums[c, 2] += ss
    bands[c, 0] += b0
    bands[c, 1] += b1
    bands[c, 2] += b2
    bands[c, 3] += b3


@njit(cache=True, nogil=True)
def scan_kernel(
    starts,
    stops,
    attrs,
    flags,
    sel,
    lon,
    lat,
    gx,
    gy,
    score,
    luts,
    opts,
    box,
    grid,
    expand,
    count,
    sums,
    bands,
    out,
):  # type: ignore[no-untyped-def]
    """One pass over index slices: filter, clip to `box`, then either accumulate per-cell
    aggregates or, when `out` is non-empty, collect the points of `expand`ed cells.

    The filter is inline and branch-free on purpose: as a separate njit function it ran
    10-30× slower, and short-circuit branches cost about a third more.
    """
    shift, cx0, cy0, gw, gh = grid[0], grid[1], grid[2], grid[3], grid[4]
    collect, k, cur = out.size > 0, 0, -1
    # running sums of the current cell, kept in registers
    n, sx, sy, ss, b0, b1, b2, b3 = 0, 0.0, 0.0, 0.0, 0, 0, 0, 0
    for r in range(starts.size):
        for i in range(starts[r], stops[r]):
            x, y = lon[i], lat[i]
            if (x < box[0]) | (x > box[2]) | (y < box[1]) | (y > box[3]):
                continue
            f = np.int64(flags[i])
            ok = (
                luts[0, attrs[i, 0]]
                & (luts[1, attrs[i, 1]] | luts[2, attrs[i, 2]])  # activity: section OR division
                & luts[3, attrs[i, 3]]
                & luts[4, attrs[i, 5]]
                & ((opts[0] < 0) | (attrs[i, 4] == opts[0]))
                & ((f & opts[1]) == opts[1])
                & ((f & opts[2]) == 0)
                & ((opts[3] == 0) | sel[i & opts[4]])  # opts[4] = 0 when no id mask
            )
            if not ok:
                continue
            cx = min(max((np.int64(gx[i]) >> shift) - cx0, 0), gw - 1)
            cy = min(max((np.int64(gy[i]) >> shift) - cy0, 0), gh - 1)
            c = cy * gw + cx
            if collect:
                if expand[c] and k < out.size:
                    out[k] = i
                    k += 1
                continue
            if c != cur:  # Morton order keeps a cell's points together: flush on change
                if cur >= 0:
                    _flush(cur, n, sx, sy, ss, b0, b1, b2, b3, count, sums, bands)
                cur, n, sx, sy, ss, b0, b1, b2, b3 = c, 0, 0.0, 0.0, 0.0, 0, 0, 0, 0
            band = attrs[i, 5]
            n += 1
            sx += x
            sy += y
            ss += score[i]
            b0 += band == 0
            b1 += band == 1
            b2 += band == 2
            b3 += band >= 3
    if cur >= 0:
        _flush(cur, n, sx, sy, ss, b0, b1, b2, b3, count, sums, bands)
    return k
