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
    """Morton keys of pixel coordinates: the bits of `spread_bits(x) | spread_bits(y) << 1`,
    in one numba loop (a query computes keys of a few dozen cells several times, where
    numpy's per-call overhead of ten array operations cost ≈ 0.25 ms)."""
    x, y = np.asarray(x, np.uint64), np.asarray(y, np.uint64)
    if x.shape != y.shape:
        raise ValueError("morton: x and y need the same shape")
    out = np.empty(x.shape, np.uint64)
    _morton_into(x.reshape(-1), y.reshape(-1), out.reshape(-1))
    return out


@njit(cache=True, nogil=True)
def _spread(v):  # type: ignore[no-untyped-def]
    v = (v | (v << np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x3333333333333333)
    return (v | (v << np.uint64(1))) & np.uint64(0x5555555555555555)


@njit(cache=True, nogil=True)
def _morton_into(x, y, out):  # type: ignore[no-untyped-def]
    for i in range(out.size):
        out[i] = _spread(x[i]) | (_spread(y[i]) << np.uint64(1))


# --- attribute word: one uint32 per point -----------------------------------------------------
# bits 0-7 region · 8-15 OKED section · 16-23 OKED division · 24-25 size · 26 hazardous ·
# 27-28 risk band. Bits 24-28 together index the 32-entry "small" lookup table, so size,
# hazardous and band cost one lookup.
SMALL_SHIFT = 24
BAND_SHIFT = 27
# points per block summary (lon/lat bounds) for skipping the per-point box test; at most 256:
# _select keeps positions in a block as uint8
BLOCK = 256
_ONE, _LOW16 = np.uint64(1), np.uint64(0xFFFF)


def pack_word(region, section, division, size, hazardous, risk_band) -> np.ndarray:  # type: ignore[no-untyped-def]
    u = np.uint32
    return (
        np.asarray(region).astype(np.uint8).astype(u)
        | (np.asarray(section).astype(np.uint8).astype(u) << u(8))
        | (np.asarray(division).astype(np.uint8).astype(u) << u(16))
        | (np.asarray(size).astype(np.uint8).astype(u) << u(SMALL_SHIFT))
        | ((np.asarray(hazardous) != 0).astype(u) << u(26))
        | (np.asarray(risk_band).astype(np.uint8).astype(u) << u(BAND_SHIFT))
    )


def unpack_word(word: np.ndarray) -> dict[str, np.ndarray]:
    w = np.asarray(word, np.uint32)
    byte = np.uint32(255)
    return {
        "region": (w & byte).astype(np.uint8),
        "section": ((w >> np.uint32(8)) & byte).astype(np.uint8),
        "division": ((w >> np.uint32(16)) & byte).astype(np.uint8),
        "size": ((w >> np.uint32(SMALL_SHIFT)) & np.uint32(3)).astype(np.uint8),
        "hazardous": ((w >> np.uint32(26)) & np.uint32(1)).astype(bool),
        "risk_band": ((w >> np.uint32(BAND_SHIFT)) & np.uint32(3)).astype(np.uint8),
    }


# --- kernels (numba; nogil so several requests can run on several cores) --------------------
@njit(cache=True, nogil=True)
def block_bounds(lon, lat):  # type: ignore[no-untyped-def]
    """[min lon, min lat, max lon, max lat] of each run of BLOCK points in index order."""
    nb = (lon.size + BLOCK - 1) // BLOCK
    out = np.empty((nb, 4), np.float64)
    for b in range(nb):
        xs, ys = lon[b * BLOCK : (b + 1) * BLOCK], lat[b * BLOCK : (b + 1) * BLOCK]
        x0, y0, x1, y1 = xs[0], ys[0], xs[0], ys[0]
        for k in range(xs.size):
            x0, x1 = min(x0, xs[k]), max(x1, xs[k])
            y0, y1 = min(y0, ys[k]), max(y1, ys[k])
        out[b, 0], out[b, 1], out[b, 2], out[b, 3] = x0, y0, x1, y1
    return out


@njit(cache=True, nogil=True)
def mark_ids(q, lo, table, mask):  # type: ignore[no-untyped-def]
    """Set `mask` at the index position of each id in `q`; `table[id - lo]` is that position
    (-1: no such id)."""
    for i in range(q.size):
        r = q[i] - lo
        if 0 <= r < table.size:
            p = table[r]
            if p >= 0:
                mask[p] = True


@njit(cache=True, nogil=True)
def _scratch(luts):  # type: ignore[no-untyped-def]
    """A copy of the (4, 256) lookup tables and a BLOCK-long buffer of uint8 positions in
    one 1.25 KB allocation. `_select` reads the tables at random, streams the block's words
    and writes the buffer; a write whose address shares its low 12 bits with a later read
    stalls that read (4 KB aliasing). With int64 positions (2 KB) in their own allocation the
    filter ran at 1.9 or 2.7 ms per whole-country pass depending on where the allocator put
    the buffer; tables and a 256-byte buffer side by side keep it at the fast figure."""
    work = np.empty(luts.size + BLOCK, np.uint8)
    local = work[: luts.size].reshape(luts.shape)
    local[:] = luts
    return local, work[luts.size :]


@njit(cache=True, nogil=True)
def _select(ws, fs, sel, i0, luts, opts, idx):  # type: ignore[no-untyped-def]
    """Write into `idx` the positions k (in the block slices `ws`, `fs`) of the points that
    pass the filter; return how many. `sel` is the id mask of the whole index (block offset
    `i0`).

    Each test runs only when its filter is on (bits of opts[0]: region, activity, size|
    hazardous|band, flags, ids): those branches always go the same way. The point itself is
    kept without a branch (write, then advance by 0 or 1): with a selective filter a branch
    per point mispredicts often. Called once per block: numba does not inline a per-point
    filter function well (it ran 5× slower), and one filter here serves both passes.
    """
    on, set_bits, clear_bits = opts[0], np.uint32(opts[1]), np.uint32(opts[2])
    region, activity, small, flag, ids = on & 1, on & 2, on & 4, on & 8, on & 16
    byte = np.uint32(255)
    m = 0
    for k in range(ws.size):
        w = ws[k]
        ok = True
        if region:
            ok &= luts[0, w & byte] != 0
        if activity:  # section OR division
            ok &= (luts[1, (w >> np.uint32(8)) & byte] | luts[2, (w >> np.uint32(16)) & byte]) != 0
        if small:
            ok &= luts[3, w >> np.uint32(SMALL_SHIFT)] != 0
        if flag:
            f = fs[k]
            ok &= ((f & set_bits) == set_bits) & ((f & clear_bits) == 0)
        if ids:
            ok &= sel[i0 + k]
        idx[m] = np.uint8(k)  # k < BLOCK = 256
        m += ok
    return m


@njit(cache=True, nogil=True, inline="always")
def _cell(gx, gy, shift, cx0, cy0, gw, gh):  # type: ignore[no-untyped-def]
    cx = min(max((np.int64(gx) >> shift) - cx0, 0), gw - 1)
    cy = min(max((np.int64(gy) >> shift) - cy0, 0), gh - 1)
    return cy * gw + cx


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
def aggregate_kernel(
    starts,
    stops,
    keys,
    bounds,
    word,
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
    count,
    sums,
    bands,
):  # type: ignore[no-untyped-def]
    """One pass over index slices: filter, clip to `box`, accumulate per-cell count, sums of
    lon, lat and score, and band counts.

    Works block by block (BLOCK points; `bounds` from `block_bounds`). A block outside the box
    is skipped. A block inside the box is cut into segments of one quadtree square at the
    grid's level (Morton keys: one binary search per cut), each of one cell, so its points
    need neither the box test nor a cell computation: at low zoom that is nearly every point.
    Blocks across the box edge go point by point. Sums are added in index order either way
    and a cell's running sums flush only when a passing point of another cell comes, so the
    results are the same bit for bit whichever path runs.
    """
    shift, cx0, cy0, gw, gh = grid[0], grid[1], grid[2], grid[3], grid[4]
    level = np.uint64(min(2 * shift, 62))  # keys have 52 bits: any level ≥ 26 is one square
    filtered = opts[0] != 0
    w, s, e, nn = box[0], box[1], box[2], box[3]
    luts, idx = _scratch(luts)  # idx: positions in the segment of its passing points
    cur = -1
    # running sums of the current cell, kept in registers
    n, sx, sy, ss, b0, b1, b2, b3 = 0, 0.0, 0.0, 0.0, 0, 0, 0, 0
    for r in range(starts.size):
        i, stop = starts[r], stops[r]
        while i < stop:
            blk = i // BLOCK
            j = min((blk + 1) * BLOCK, stop)
            bx0, by0, bx1, by1 = bounds[blk, 0], bounds[blk, 1], bounds[blk, 2], bounds[blk, 3]
            if (bx1 < w) | (bx0 > e) | (by1 < s) | (by0 > nn):
                i = j
                continue
            inside = (bx0 >= w) & (bx1 <= e) & (by0 >= s) & (by1 <= nn)
            while i < j:
                m = j
                if inside:
                    q = keys[i] >> level
                    if (keys[j - 1] >> level) != q:
                        m = i + np.searchsorted(keys[i:j], (q + _ONE) << level)
                # slices, so that loop indices are known non-negative (no wraparound code)
                ws, xs, ys, sc = word[i:m], lon[i:m], lat[i:m], score[i:m]
                cnt = m - i
                if filtered:
                    cnt = _select(ws, flags[i:m], sel, i, luts, opts, idx)
                if inside and cnt > 0:
                    c = _cell(gx[i], gy[i], shift, cx0, cy0, gw, gh)
                    if c != cur:
                        if cur >= 0:
                            _flush(cur, n, sx, sy, ss, b0, b1, b2, b3, count, sums, bands)
                        cur, n, sx, sy, ss, b0, b1, b2, b3 = c, 0, 0.0, 0.0, 0.0, 0, 0, 0, 0
                    n += cnt
                    bb = np.uint64(0)  # four 16-bit band counters (a segment has ≤ 256 points)
                    if filtered:
                        for t in range(cnt):
                            k = idx[t]
                            sx += xs[k]
                            sy += ys[k]
                            ss += sc[k]
                            bb += _ONE << np.uint64((ws[k] >> BAND_SHIFT) * 16)
                    else:
                        for k in range(cnt):
                            sx += xs[k]
                            sy += ys[k]
                            ss += sc[k]
                            bb += _ONE << np.uint64((ws[k] >> BAND_SHIFT) * 16)
                    b0 += np.int64(bb & _LOW16)
                    b1 += np.int64((bb >> np.uint64(16)) & _LOW16)
                    b2 += np.int64((bb >> np.uint64(32)) & _LOW16)
                    b3 += np.int64(bb >> np.uint64(48))
                elif not inside:
                    gxs, gys = gx[i:m], gy[i:m]
                    for t in range(cnt):
                        k = idx[t] if filtered else t
                        x, y = xs[k], ys[k]
                        if (x < w) | (x > e) | (y < s) | (y > nn):
                            continue
                        c = _cell(gxs[k], gys[k], shift, cx0, cy0, gw, gh)
                        if c != cur:  # Morton order keeps a cell's points together
                            if cur >= 0:
                                _flush(cur, n, sx, sy, ss, b0, b1, b2, b3, count, sums, bands)
                            cur, n, sx, sy, ss, b0, b1, b2, b3 = c, 0, 0.0, 0.0, 0.0, 0, 0, 0, 0
                        band = ws[k] >> BAND_SHIFT
                        n += 1
                        sx += x
                        sy += y
                        ss += sc[k]
                        b0 += band == 0
                        b1 += band == 1
                        b2 += band == 2
                        b3 += band == 3
                i = m
    if cur >= 0:
        _flush(cur, n, sx, sy, ss, b0, b1, b2, b3, count, sums, bands)


@njit(cache=True, nogil=True)
def collect_kernel(
    starts, stops, bounds, word, flags, sel, lon, lat, gx, gy, luts, opts, box, grid, expand, out
):  # type: ignore[no-untyped-def]
    """Index positions (in index order) of the points that pass the filter, lie in `box` and
    fall in an `expand`ed cell; at most `out.size` of them. Returns how many were written."""
    shift, cx0, cy0, gw, gh = grid[0], grid[1], grid[2], grid[3], grid[4]
    filtered = opts[0] != 0
    w, s, e, nn = box[0], box[1], box[2], box[3]
    luts, idx = _scratch(luts)
    n = 0
    for r in range(starts.size):
        i, stop = starts[r], stops[r]
        while i < stop:
            blk = i // BLOCK
            j = min((blk + 1) * BLOCK, stop)
            bx0, by0, bx1, by1 = bounds[blk, 0], bounds[blk, 1], bounds[blk, 2], bounds[blk, 3]
            if (bx1 < w) | (bx0 > e) | (by1 < s) | (by0 > nn):
                i = j
                continue
            xs, ys, gxs, gys = lon[i:j], lat[i:j], gx[i:j], gy[i:j]
            cnt = _select(word[i:j], flags[i:j], sel, i, luts, opts, idx) if filtered else j - i
            for t in range(cnt):
                k = idx[t] if filtered else t
                x, y = xs[k], ys[k]
                if (x < w) | (x > e) | (y < s) | (y > nn):
                    continue
                if expand[_cell(gxs[k], gys[k], shift, cx0, cy0, gw, gh)] and n < out.size:
                    out[n] = i + k
                    n += 1
            i = j
    return n
