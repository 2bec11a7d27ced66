"""Server-side clustering for the Digital Map of Enterprises (pure library: arrays in, JSON out).

How it works (see docs/map-clustering.md for the measurements behind the choices):

* Every point gets Web-Mercator pixel coordinates at zoom 18 (`gx`, `gy`, 26 bits each) and a
  Morton (z-order) key interleaving them; the columns are stored sorted by that key, so any
  square of the quadtree is one contiguous slice and a viewport is a handful of slices.
* A cluster is a grid cell of 64 px (``2**CELL_BITS``) at the requested zoom. Because 64 is a
  power of two, the cell of a point at zoom z is ``gx >> (24 - z)``: no per-zoom tables.
* Counts are computed per request by one numba pass over the viewport's slices that applies
  every filter and accumulates count, coordinate sums, score sum and per-risk-band counts per
  cell. Counts are therefore exact under any filter combination, and no per-zoom precomputation
  is needed: a full-country pass over 500 K points costs 1-3 ms. The pass goes by blocks of 256
  points with precomputed lon/lat bounds: blocks inside the box are cut at cell boundaries
  (Morton keys) and summed without a per-point box test or cell computation.
* Payload is bounded: when a viewport would yield more than `MAX_CLUSTERS` non-empty cells the
  grid is coarsened by 2 until it does not, and individual points are sent only within a
  `MAX_POINTS` budget.
* The index is immutable; updates rebuild it (`updated`), which takes well under a second for
  500 K points, and the caller swaps the reference.

Modules: `kernel` (projection, Morton keys, the numba pass), `grid` (viewport validation, cell
grids, coarsening, which cells become points), `result` (`ClusterResult` and its JSON), `scan`
(a request's filters as kernel tables, the slices covering a viewport or cells, the kernel
passes, assembling the result), this one (`PointIndex`: build, update, look up ids, run a
request through `scan`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

from qorgau.geo.filters import MAX_FLAGS, Filters, InvalidFilter
from qorgau.geo.grid import (
    CELL_BITS,
    MAX_CLUSTERS,
    MAX_POINTS,
    MAX_ZOOM,
    SMALL_CELL,
    InvalidViewport,
    check_zoom,
    choose_expanded,
    coarsen,
    grid_of,
    viewport,
)
from qorgau.geo.grid import N_BANDS as _N_BANDS
from qorgau.geo.kernel import (
    MERC_MAX_LAT,
    WORLD_BITS,
    block_bounds,
    mark_ids,
    morton,
    pack_word,
    to_gx,
    to_gy,
    unpack_word,
)
from qorgau.geo.result import ClusterResult
from qorgau.geo.scan import (
    ONE_CELL,
    Plan,
    aggregate,
    cell_ranges,
    cluster_result,
    collect,
    filter_plan,
    viewport_ranges,
)

__all__ = [
    "MAX_CLUSTERS",
    "MAX_POINTS",
    "MAX_ZOOM",
    "SMALL_CELL",
    "WORLD_BITS",
    "ClusterResult",
    "InvalidFilter",
    "InvalidViewport",
    "PointIndex",
    "warm_up",
]

_ATTR_COLS = ("region", "section", "division", "size", "hazardous", "risk_band")
# "word" packs the attributes into one uint32 per point (kernel.pack_word); changing these
# columns needs a new geo/store.py FORMAT so that saved indexes are rebuilt, not misread
_INTERNAL_COLS = frozenset(
    {"keys", "ids", "lon", "lat", "gx", "gy", "word", "score", "flags", "id_order", "sorted_ids"}
)
_MASK_CACHE = 4  # id masks kept per index (one request asks each layer with the same ids)


# --- the index -------------------------------------------------------------------------------
class PointIndex:
    """Immutable columnar index of enterprise points, sorted by Morton key at zoom 18.

    Build with `from_arrays`; query with `query` / `count`. Safe to share between threads.
    """

    def __init__(self, cols: dict[str, np.ndarray], flag_names: tuple[str, ...]) -> None:
        self._c = cols
        self.flag_names = flag_names
        self._flag_bit = {name: 1 << i for i, name in enumerate(flag_names)}
        self._all = (np.zeros(1, np.int64), np.full(1, len(cols["ids"]), np.int64))
        self._no_sel = np.zeros(1, dtype=np.bool_)
        self._bounds = block_bounds(cols["lon"], cols["lat"])
        self._id_pos: np.ndarray | None = None  # see _id_table
        self._masks: dict[tuple[int, ...], np.ndarray] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._c["ids"])

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The internal columns (read-only use: persisting the index, geo/store.py)."""
        return dict(self._c)

    @classmethod
    def from_columns(cls, cols: Mapping[str, np.ndarray], flag_names: Sequence[str]) -> PointIndex:
        """An index from `columns` saved earlier (no re-sort, no checks beyond the names)."""
        missing = _INTERNAL_COLS - set(cols)
        if missing:
            raise ValueError(f"columns missing: {sorted(missing)}")
        return cls({k: cols[k] for k in _INTERNAL_COLS}, tuple(flag_names))

    # --- build ---------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        *,
        ids: np.ndarray,
        lon: np.ndarray,
        lat: np.ndarray,
        region: np.ndarray,
        section: np.ndarray,
        division: np.ndarray,
        size: np.ndarray,
        hazardous: np.ndarray,
        risk_band: np.ndarray,
        risk_score: np.ndarray,
        flags: Mapping[str, np.ndarray] | None = None,
    ) -> PointIndex:
        """Columns (one entry per enterprise or site, encodings in `qorgau.geo.filters`):

        ids int64 (unique) · lon/lat WGS 84 degrees · region uint8 (ISO numeric, 35 = KZ-35) ·
        section uint8 (OKED A..U = 1..21) · division uint8 (OKED 01..99) · size uint8
        (micro..large = 0..3) · hazardous bool · risk_band uint8 (low..very_high = 0..3) ·
        risk_score float32 · flags: name -> bool column for layer filters (at most 32).
        """
        ids = np.asarray(ids, dtype=np.int64)
        n = len(ids)
        raw = {
            "lon": lon,
            "lat": lat,
            "region": region,
            "section": section,
            "division": division,
            "size": size,
            "hazardous": hazardous,
            "risk_band": risk_band,
            "risk_score": risk_score,
        }
        for name, col in raw.items():
            if len(col) != n:
                raise ValueError(f"{name}: expected {n} values, got {len(col)}")
        lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        _check_points(ids, lon, lat, size, risk_band)
        flag_names, bits = _pack_flags(flags or {}, n)
        word = pack_word(*(raw[name] for name in _ATTR_COLS))
        gx, gy = to_gx(lon), to_gy(lat)
        keys = morton(gx, gy)
        order = np.argsort(keys, kind="stable")
        cols = {
            "keys": keys[order],
            "ids": ids[order],
            "lon": lon[order],
            "lat": lat[order],
            "gx": gx[order],
            "gy": gy[order],
            "word": word[order],
            "score": np.asarray(risk_score, np.float32)[order],
            "flags": bits[order],
        }
        cols["id_order"] = np.argsort(cols["ids"], kind="stable")
        cols["sorted_ids"] = cols["ids"][cols["id_order"]]
        if n and (cols["sorted_ids"][1:] == cols["sorted_ids"][:-1]).any():
            raise ValueError("ids: must be unique")
        return cls(cols, flag_names)

    def to_arrays(self) -> dict[str, object]:
        """The columns as `from_arrays` takes them (in index order)."""
        c, out = self._c, unpack_word(self._c["word"])
        flags = {name: (c["flags"] & np.uint32(bit)) != 0 for name, bit in self._flag_bit.items()}
        return {
            "ids": c["ids"],
            "lon": c["lon"],
            "lat": c["lat"],
            "risk_score": c["score"],
            "flags": flags,
            **out,
        }

    def flags_of(self, ids: np.ndarray) -> dict[str, np.ndarray]:
        """Layer flags of `ids` (False for ids not in the index), aligned with `ids`."""
        c = self._c
        ids = np.asarray(ids, np.int64)
        sorted_ids = c["sorted_ids"]
        bits = np.zeros(len(ids), np.uint32)
        if len(sorted_ids) and len(ids):
            pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
            found = sorted_ids[pos] == ids
            bits[found] = c["flags"][c["id_order"][pos[found]]]
        return {name: (bits & np.uint32(bit)) != 0 for name, bit in self._flag_bit.items()}

    def updated(
        self,
        *,
        upsert: Mapping[str, object] | None = None,
        delete_ids: Sequence[int] | np.ndarray = (),
    ) -> PointIndex:
        """A new index with `upsert` rows (same keys as `from_arrays`) added or replacing rows
        with the same id, and `delete_ids` removed. Rows whose flags are this index's flag
        names are merged into the Morton order (no re-sort: ≈ 0.1 s for 500 K points); other
        flag names rebuild the index (< 1 s)."""
        new_flags = (upsert or {}).get("flags") or {}
        if set(new_flags) <= set(self.flag_names):  # type: ignore[arg-type]
            return self._merged(upsert, np.asarray(delete_ids, dtype=np.int64))
        cur = self.to_arrays()
        gone = np.asarray(delete_ids, dtype=np.int64)
        if upsert is not None:
            gone = np.concatenate([gone, np.asarray(upsert["ids"], dtype=np.int64)])
        keep = ~np.isin(cur["ids"], gone)
        merged: dict[str, object] = {}
        for name, col in cur.items():
            if name == "flags":
                continue
            parts = [np.asarray(col)[keep]]
            if upsert is not None:
                parts.append(np.asarray(upsert[name]))
            merged[name] = np.concatenate(parts)
        merged["flags"] = _merge_flags(cur["flags"], keep, upsert)  # type: ignore[arg-type]
        return PointIndex.from_arrays(**merged)  # type: ignore[arg-type]

    def _merged(self, upsert: Mapping[str, object] | None, gone: np.ndarray) -> PointIndex:
        c = self._c
        if upsert is not None:
            gone = np.concatenate([gone, np.asarray(upsert["ids"], dtype=np.int64)])
        keep = ~np.isin(c["ids"], gone)
        base = {k: c[k][keep] for k in _INTERNAL_COLS - {"id_order", "sorted_ids"}}
        if upsert is not None and len(upsert["ids"]):  # type: ignore[arg-type]
            new = self._rows(upsert)
            order = np.argsort(new["keys"], kind="stable")
            at = np.searchsorted(base["keys"], new["keys"][order], side="right")
            base = {k: np.insert(base[k], at, new[k][order], axis=0) for k in base}
        base["id_order"] = np.argsort(base["ids"], kind="stable")
        base["sorted_ids"] = base["ids"][base["id_order"]]
        if len(base["ids"]) and (base["sorted_ids"][1:] == base["sorted_ids"][:-1]).any():
            raise ValueError("ids: must be unique")
        return PointIndex(base, self.flag_names)

    def _rows(self, upsert: Mapping[str, object]) -> dict[str, np.ndarray]:
        """`upsert` in the internal column layout, flag bits as this index numbers them."""
        ids = np.asarray(upsert["ids"], dtype=np.int64)
        n = len(ids)
        lon = np.asarray(upsert["lon"], np.float64)
        lat = np.asarray(upsert["lat"], np.float64)
        _check_points(ids, lon, lat, upsert["size"], upsert["risk_band"])  # type: ignore[arg-type]
        for name in _ATTR_COLS:
            if len(upsert[name]) != n:  # type: ignore[arg-type]
                raise ValueError(f"{name}: expected {n} values, got {len(upsert[name])}")  # type: ignore[arg-type]
        bits = np.zeros(n, dtype=np.uint32)
        for name, col in (upsert.get("flags") or {}).items():  # type: ignore[union-attr]
            bits |= np.asarray(col, dtype=bool).astype(np.uint32) * np.uint32(self._flag_bit[name])
        gx, gy = to_gx(lon), to_gy(lat)
        return {
            "keys": morton(gx, gy),
            "ids": ids,
            "lon": lon,
            "lat": lat,
            "gx": gx,
            "gy": gy,
            "word": pack_word(*(upsert[name] for name in _ATTR_COLS)),
            "score": np.asarray(upsert["risk_score"], np.float32),
            "flags": bits,
        }

    # --- queries -------------------------------------------------------------------------
    def count(self, filters: Filters | None = None, bbox: Sequence[float] | None = None) -> int:
        """Exact number of points matching `filters`, inside `bbox` (lon/lat) when given."""
        plan = self._plan(filters or Filters())
        if bbox is None:
            box = np.array([-np.inf, -np.inf, np.inf, np.inf])
            return int(aggregate(self._c, self._bounds, self._all, plan, box, ONE_CELL)[0][0])
        vp = viewport(bbox, None)
        ranges = viewport_ranges(self._c["keys"], vp.px)
        return int(aggregate(self._c, self._bounds, ranges, plan, vp.box, ONE_CELL)[0][0])

    def match_ids(
        self, filters: Filters | None = None, bbox: Sequence[float] | None = None
    ) -> np.ndarray:
        """Ids of the points matching `filters` (inside `bbox` when given), in index order."""
        plan = self._plan(filters or Filters())
        if bbox is None:
            ranges, box = self._all, np.array([-np.inf, -np.inf, np.inf, np.inf])
        else:
            vp = viewport(bbox, None)
            ranges, box = viewport_ranges(self._c["keys"], vp.px), vp.box
        n = int(aggregate(self._c, self._bounds, ranges, plan, box, ONE_CELL)[0][0])
        pts = collect(self._c, self._bounds, ranges, plan, box, ONE_CELL, np.ones(1, np.bool_), n)
        return self._c["ids"][pts]

    def query(
        self, bbox: Sequence[float], zoom: int, filters: Filters | None = None
    ) -> ClusterResult:
        """Clusters (and points where small enough) for a viewport.

        `bbox` is (west, south, east, north) in degrees, `zoom` 0..18. Raises `InvalidViewport`
        or `InvalidFilter` naming the field.
        """
        zoom = check_zoom(zoom)
        vp = viewport(bbox, zoom)
        plan = self._plan(filters or Filters())
        ranges = viewport_ranges(self._c["keys"], vp.px)
        grid = grid_of(vp.px, WORLD_BITS - (zoom + 8) + CELL_BITS)
        count, sums, bands = aggregate(self._c, self._bounds, ranges, plan, vp.box, grid)
        while np.count_nonzero(count) > MAX_CLUSTERS:
            grid, count, sums, bands = coarsen(grid, count, sums, bands)
        expand = choose_expanded(count, zoom)
        n_pts = int(count[expand].sum())
        # Second pass only over the expanded cells' own slices (each cell is one Morton range),
        # not the whole viewport again: at low zoom that is a few points instead of 500 K.
        cells = cell_ranges(self._c["keys"], grid, expand)
        pts = collect(self._c, self._bounds, cells, plan, vp.box, grid, expand, n_pts)
        if len(pts) < n_pts:  # a point clamped into an edge cell from outside it: full pass
            pts = collect(self._c, self._bounds, ranges, plan, vp.box, grid, expand, n_pts)
        return cluster_result(self._c, zoom, grid, count, sums, bands, expand, pts)

    # --- internals -----------------------------------------------------------------------
    def _plan(self, f: Filters) -> Plan:
        return filter_plan(f, self._flag_bit, self._no_sel, self._id_mask)

    def _id_mask(self, ids: tuple[int, ...]) -> np.ndarray:
        """Bool mask over index positions; the last few are kept (never written once made)."""
        key = tuple(ids)
        mask = self._masks.get(key)
        if mask is not None:
            return mask
        mask = np.zeros(len(self), dtype=np.bool_)
        q = np.fromiter(key, dtype=np.int64, count=len(key))
        sorted_ids, order = self._c["sorted_ids"], self._c["id_order"]
        if len(sorted_ids) and len(q):
            lo, span = int(sorted_ids[0]), int(sorted_ids[-1]) - int(sorted_ids[0]) + 1
            if span <= 4 * len(sorted_ids) + 1024:
                mark_ids(q, lo, self._id_table(lo, span), mask)
            else:  # sparse ids: binary search with sorted needles
                q = np.sort(q)
                at = np.minimum(np.searchsorted(sorted_ids, q), len(sorted_ids) - 1)
                mask[order[at[sorted_ids[at] == q]]] = True
        with self._lock:
            if len(self._masks) >= _MASK_CACHE:
                del self._masks[next(iter(self._masks))]
            self._masks[key] = mask
        return mask

    def _id_table(self, lo: int, span: int) -> np.ndarray:
        """Index position of each id from the smallest (-1: no such id), built on first use.
        Ids are usually dense (database sequences), so marking a search's ids is one table
        read each; a binary search per id, for 20 K random ids into 500 K, cost 5 ms of
        cache misses."""
        if self._id_pos is None:
            sorted_ids, order = self._c["sorted_ids"], self._c["id_order"]
            table = np.full(span, -1, dtype=np.int32)
            table[sorted_ids - lo] = order
            self._id_pos = table
        return self._id_pos


# --- validation and helpers ------------------------------------------------------------------
def _check_points(
    ids: np.ndarray, lon: np.ndarray, lat: np.ndarray, size: np.ndarray, risk_band: np.ndarray
) -> None:
    if not (np.isfinite(lon).all() and (np.abs(lon) <= 180).all()):
        raise ValueError("lon: values must be finite degrees in [-180, 180]")
    if not (np.isfinite(lat).all() and (np.abs(lat) <= MERC_MAX_LAT).all()):
        raise ValueError(f"lat: values must be finite degrees in ±{MERC_MAX_LAT}")
    if len(size) and int(np.max(size)) > 3:
        raise ValueError("size: band codes are 0..3")
    if len(risk_band) and int(np.max(risk_band)) >= _N_BANDS:
        raise ValueError(f"risk_band: band codes are 0..{_N_BANDS - 1}")


def _pack_flags(flags: Mapping[str, np.ndarray], n: int) -> tuple[tuple[str, ...], np.ndarray]:
    if len(flags) > MAX_FLAGS:
        raise ValueError(f"flags: at most {MAX_FLAGS} layer flags")
    bits = np.zeros(n, dtype=np.uint32)
    for i, (name, col) in enumerate(flags.items()):
        if len(col) != n:
            raise ValueError(f"{name}: expected {n} values, got {len(col)}")
        bits |= np.asarray(col, dtype=bool).astype(np.uint32) << np.uint32(i)
    return tuple(flags), bits


def _merge_flags(
    cur: Mapping[str, np.ndarray], keep: np.ndarray, upsert: Mapping[str, object] | None
) -> dict[str, np.ndarray]:
    new: Mapping[str, np.ndarray] = (upsert or {}).get("flags") or {}  # type: ignore[assignment]
    n_new = len(upsert["ids"]) if upsert is not None else 0  # type: ignore[arg-type]
    out = {}
    for name in dict.fromkeys([*cur, *new]):
        old = cur[name][keep] if name in cur else np.zeros(int(keep.sum()), bool)
        add = np.asarray(new[name], bool) if name in new else np.zeros(n_new, bool)
        out[name] = np.concatenate([old, add])
    return out


def warm_up() -> float:
    """Compile (or load from numba's on-disk cache) the kernel; call once at app start-up so
    the first map request does not pay for it. Returns the seconds spent."""
    import time

    t0 = time.perf_counter()
    one = np.ones(1)
    index = PointIndex.from_arrays(
        ids=np.zeros(1, np.int64),
        lon=one * 70,
        lat=one * 48,
        region=one,
        section=one,
        division=one,
        size=one,
        hazardous=one.astype(bool),
        risk_band=one,
        risk_score=one,
    )
    index.query((69.9, 47.9, 70.1, 48.1), 14, Filters())
    index.query((69.9, 47.9, 70.1, 48.1), 14, Filters(ids=(0,), regions=("KZ-35",)))
    return time.perf_counter() - t0
