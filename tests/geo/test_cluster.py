"""Clustering engine: counts equal a plain numpy count, bounded payload, clear input errors."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from qorgau.geo import cluster as C
from qorgau.geo import kernel as K
from qorgau.geo.cluster import InvalidViewport, PointIndex
from qorgau.geo.filters import (
    OKED_SECTIONS,
    REGION_CODES,
    RISK_BANDS,
    SIZE_BANDS,
    Filters,
    InvalidFilter,
)

FLAGS = ("has_open_violation", "has_insurance_gap", "missing_equipment")
CITIES = ((76.89, 43.24), (71.43, 51.17), (69.59, 42.32), (73.1, 49.8))


def make_columns(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    city = rng.integers(0, len(CITIES), n)
    urban = rng.random(n) < 0.7
    centre = np.array(CITIES)[city]
    lon = np.where(urban, centre[:, 0] + rng.normal(0, 0.08, n), rng.uniform(46.5, 87, n))
    lat = np.where(urban, centre[:, 1] + rng.normal(0, 0.05, n), rng.uniform(40.6, 55.4, n))
    return {
        "ids": rng.permutation(n).astype(np.int64) + 100_000_000_000,
        "lon": lon,
        "lat": lat,
        "region": np.array([int(c[3:]) for c in REGION_CODES], np.uint8)[rng.integers(0, 20, n)],
        "section": rng.integers(1, 22, n).astype(np.uint8),
        "division": rng.integers(1, 100, n).astype(np.uint8),
        "size": rng.integers(0, 4, n).astype(np.uint8),
        "hazardous": rng.random(n) < 0.2,
        "risk_band": rng.integers(0, 4, n).astype(np.uint8),
        "risk_score": rng.uniform(0, 100, n).astype(np.float32),
        "flags": {f: rng.random(n) < 0.3 for f in FLAGS},
    }


@pytest.fixture(scope="module")
def cols() -> dict:
    return make_columns(30_000, seed=7)


@pytest.fixture(scope="module")
def index(cols: dict) -> PointIndex:
    return PointIndex.from_arrays(**cols)


def reference_mask(cols: dict, f: Filters, bbox: tuple | None) -> np.ndarray:
    m = np.ones(len(cols["ids"]), bool)
    if f.regions:
        m &= np.isin(cols["region"], f.region_values())
    if f.activities:
        secs, divs = f.activity_values()
        m &= np.isin(cols["section"], secs) | np.isin(cols["division"], divs)
    if f.sizes:
        m &= np.isin(cols["size"], f.size_values())
    if f.risk_bands:
        m &= np.isin(cols["risk_band"], f.risk_values())
    if f.hazardous is not None:
        m &= cols["hazardous"] == f.hazardous
    if f.ids is not None:
        m &= np.isin(cols["ids"], np.asarray(f.ids, np.int64))
    for name, want in f.flags.items():
        m &= cols["flags"][name] == want
    if bbox is not None:
        w, s, e, n = bbox
        m &= (cols["lon"] >= w) & (cols["lon"] <= e) & (cols["lat"] >= s) & (cols["lat"] <= n)
    return m


def random_filters(rng: np.random.Generator, cols: dict) -> Filters:
    def some(values, p=0.4):
        if rng.random() > p:
            return ()
        return tuple(rng.choice(values, rng.integers(1, 4), replace=False).tolist())

    acts = [*OKED_SECTIONS, *(f"{d:02d}" for d in range(1, 100))]
    ids = None
    if rng.random() < 0.2:
        ids = (*tuple(int(i) for i in rng.choice(cols["ids"], 3000, replace=False)), 1, 2)
    flags = {f: bool(rng.random() < 0.5) for f in FLAGS if rng.random() < 0.25}
    haz = None if rng.random() < 0.6 else bool(rng.random() < 0.5)
    return Filters(
        regions=some(list(REGION_CODES)),
        activities=some(acts),
        sizes=some(list(SIZE_BANDS)),
        risk_bands=some(list(RISK_BANDS)),
        hazardous=haz,
        ids=ids,
        flags=flags,
    )


def random_viewport(rng: np.random.Generator) -> tuple[tuple[float, ...], int]:
    zoom = int(rng.integers(3, 19))
    lon, lat = CITIES[rng.integers(0, 4)] if rng.random() < 0.7 else (rng.uniform(50, 85), 47.0)
    half_w = rng.uniform(200, 1000) * 360 / (256 * 2**zoom)  # 400-2000 px wide
    half_h = half_w * rng.uniform(0.4, 0.8) * 0.75
    w, e = max(lon - half_w, -180.0), min(lon + half_w, 180.0)
    return (w, max(lat - half_h, -85.0), e, min(lat + half_h, 85.0)), zoom


def reference_cells(cols: dict, mask: np.ndarray, level: int) -> dict[int, int]:
    shift = np.uint32(K.WORLD_BITS - level)
    keys = K.morton(K.to_gx(cols["lon"][mask]) >> shift, K.to_gy(cols["lat"][mask]) >> shift)
    uniq, counts = np.unique(keys, return_counts=True)
    return dict(zip(uniq.tolist(), counts.tolist(), strict=True))


def result_cells(cols: dict, index: PointIndex, r: C.ClusterResult) -> dict[int, int]:
    cells = dict(zip(r.keys.tolist(), r.counts.tolist(), strict=True))
    if len(r.point_ids):
        shift = np.uint32(K.WORLD_BITS - r.level)
        pk = K.morton(K.to_gx(r.point_lon) >> shift, K.to_gy(r.point_lat) >> shift)
        for k in pk.tolist():
            assert k not in r.keys.tolist(), "a cell is either a cluster or its points"
            cells[k] = cells.get(k, 0) + 1
    return cells


def test_counts_equal_numpy_for_random_filters(cols: dict, index: PointIndex) -> None:
    rng = np.random.default_rng(2024)
    for _ in range(120):
        f = random_filters(rng, cols)
        bbox, zoom = random_viewport(rng)
        expect = reference_mask(cols, f, bbox)
        r = index.query(bbox, zoom, f)
        assert r.total == int(expect.sum())
        assert int(r.counts.sum()) + len(r.point_ids) == r.total
        assert index.count(f, bbox) == r.total
        assert result_cells(cols, index, r) == reference_cells(cols, expect, r.level)
        assert (r.band_counts.sum(axis=1) == r.counts).all()


def test_count_without_bbox(cols: dict, index: PointIndex) -> None:
    rng = np.random.default_rng(5)
    assert index.count() == len(cols["ids"])
    for _ in range(30):
        f = random_filters(rng, cols)
        assert index.count(f) == int(reference_mask(cols, f, None).sum())


def test_centroids_are_member_means(cols: dict, index: PointIndex) -> None:
    f = Filters(risk_bands=("high", "very_high"))
    r = index.query((76.0, 42.8, 77.8, 43.7), 9, f)
    assert len(r.counts) > 0
    mask = reference_mask(cols, f, (76.0, 42.8, 77.8, 43.7))
    shift = np.uint32(K.WORLD_BITS - r.level)
    keys = K.morton(K.to_gx(cols["lon"][mask]) >> shift, K.to_gy(cols["lat"][mask]) >> shift)
    for key, lon, lat, score in zip(r.keys, r.lon, r.lat, r.mean_score, strict=True):
        members = keys == key
        assert lon == pytest.approx(cols["lon"][mask][members].mean(), abs=1e-9)
        assert lat == pytest.approx(cols["lat"][mask][members].mean(), abs=1e-9)
        assert score == pytest.approx(cols["risk_score"][mask][members].mean(), rel=1e-5)
    assert (r.max_band == 3).any()


def test_points_returned_at_high_zoom(cols: dict, index: PointIndex) -> None:
    bbox = (76.88, 43.235, 76.90, 43.245)
    r = index.query(bbox, 16, Filters())
    expect = reference_mask(cols, Filters(), bbox)
    assert 0 < expect.sum() <= C.MAX_POINTS
    assert len(r.counts) == 0
    assert sorted(r.point_ids.tolist()) == sorted(cols["ids"][expect].tolist())
    body = orjson.loads(r.to_json_bytes())
    assert body["point_fields"] == ["id", "lon", "lat", "risk"]
    assert len(body["points"]) == expect.sum()


def test_small_cells_become_points_at_low_zoom(index: PointIndex) -> None:
    r = index.query((60.0, 44.0, 66.0, 48.0), 8, Filters(hazardous=True, sizes=("large",)))
    assert len(r.point_ids) > 0
    assert r.counts.min(initial=C.SMALL_CELL + 1) > C.SMALL_CELL


def test_payload_bounded_on_dense_data() -> None:
    cols = make_columns(200_000, seed=11)
    index = PointIndex.from_arrays(**cols)
    rng = np.random.default_rng(3)
    for zoom in range(0, 19):
        for _ in range(4):
            lon, lat = CITIES[rng.integers(0, 4)]
            half = 1900 * 360 / (256 * 2**zoom)  # a 3800 px wide screen
            w, e = max(lon - half, -180), min(lon + half, 180)
            bbox = (w, max(lat - half / 2, -80), e, min(lat + half / 2, 80))
            r = index.query(bbox, zoom, Filters())
            assert len(r.to_json_bytes()) < 50_000, (zoom, len(r.counts), len(r.point_ids))
            assert len(r.counts) <= C.MAX_CLUSTERS and len(r.point_ids) <= C.MAX_POINTS


def test_ids_filter(cols: dict, index: PointIndex) -> None:
    assert index.count(Filters(ids=())) == 0
    some = (*(int(i) for i in cols["ids"][:50]), 42)  # 42 is not in the index
    assert index.count(Filters(ids=some)) == 50


@pytest.mark.parametrize(
    ("bbox", "zoom", "field"),
    [
        ((77.0, 43.0, 76.0, 44.0), 8, "bbox"),  # west > east
        ((76.0, 44.0, 77.0, 43.0), 8, "bbox"),  # south > north
        ((-10.0, 40.0, 10.0, 50.0), 5, "bbox"),  # Europe
        ((76.0, 43.0, 77.0), 8, "bbox"),
        ((76.0, 43.0, float("nan"), 44.0), 8, "bbox"),
        ((76.0, 43.0, 200.0, 44.0), 8, "bbox"),
        ((46.0, 40.0, 88.0, 56.0), 16, "bbox"),  # the country at street level: absurd
        ((76.0, 43.0, 77.0, 44.0), 19, "zoom"),
        ((76.0, 43.0, 77.0, 44.0), -1, "zoom"),
        ((76.0, 43.0, 77.0, 44.0), "8", "zoom"),
        ((76.0, 43.0, 77.0, 44.0), 8.5, "zoom"),
    ],
)
def test_invalid_viewport(index: PointIndex, bbox: tuple, zoom: object, field: str) -> None:
    with pytest.raises(InvalidViewport) as err:
        index.query(bbox, zoom, Filters())  # type: ignore[arg-type]
    assert err.value.field == field
    assert isinstance(err.value, ValueError)


def test_invalid_filters(index: PointIndex) -> None:
    cases = [
        (lambda: Filters(regions=("KZ-99",)), "region"),
        (lambda: Filters(activities=("Z",)), "activity"),
        (lambda: Filters(activities=("123",)), "activity"),
        (lambda: Filters(sizes=("huge",)), "size"),
        (lambda: Filters(risk_bands=("extreme",)), "risk"),
        (lambda: Filters.from_query({"colour": "red"}), "colour"),
        (lambda: Filters.from_query({"hazardous": "maybe"}), "hazardous"),
        (lambda: Filters.from_query({"ids": "1,x"}), "ids"),
        (lambda: index.count(Filters(flags={"no_such_layer": True})), "no_such_layer"),
    ]
    for make, field in cases:
        with pytest.raises(InvalidFilter) as err:
            make()
        assert err.value.field == field
        assert field in str(err.value)


def test_from_query_parses_lists_and_flags() -> None:
    f = Filters.from_query(
        {
            "region": ["KZ-35", "kz-75"],
            "activity": "C,05",
            "size": "small",
            "risk": "high,very_high",
            "hazardous": "true",
            "ids": "1,2,3",
            "has_open_violation": "1",
            "bbox": "1,2,3,4",
        },
        flag_names=FLAGS,
    )
    assert f.region_values() == [35, 75]
    assert f.activity_values() == ([3], [5])
    assert f.size_values() == [1] and f.risk_values() == [2, 3]
    assert f.hazardous is True and f.ids == (1, 2, 3)
    assert dict(f.flags) == {"has_open_violation": True}
    assert Filters.from_query({}).is_empty


def test_updated_upserts_and_deletes(cols: dict, index: PointIndex) -> None:
    new = make_columns(10, seed=99)
    new["ids"] = np.arange(10, dtype=np.int64) + 1
    new["flags"] = {"has_open_violation": np.ones(10, bool)}
    gone = cols["ids"][:100]
    upd = index.updated(upsert=new, delete_ids=gone)
    assert len(upd) == len(index) - 100 + 10
    assert upd.count(Filters(ids=tuple(int(i) for i in gone))) == 0
    assert upd.count(Filters(ids=tuple(range(1, 11)), flags={"has_open_violation": True})) == 10
    assert upd.flag_names == FLAGS
    assert len(index) == len(cols["ids"])  # the original is untouched


def test_empty_index() -> None:
    cols = make_columns(0, seed=1)
    index = PointIndex.from_arrays(**cols)
    r = index.query((70.0, 45.0, 72.0, 46.0), 8, Filters())
    assert r.total == 0 and index.count() == 0
    assert orjson.loads(r.to_json_bytes())["clusters"] == []


def test_build_rejects_bad_columns(cols: dict) -> None:
    bad = dict(cols, risk_band=np.full(len(cols["ids"]), 7, np.uint8))
    with pytest.raises(ValueError, match="risk_band"):
        PointIndex.from_arrays(**bad)
    dup = dict(cols, ids=np.zeros(len(cols["ids"]), np.int64))
    with pytest.raises(ValueError, match="ids"):
        PointIndex.from_arrays(**dup)


def test_morton_matches_the_bit_spreading_formula() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(0, 1 << K.WORLD_BITS, 5000).astype(np.uint32)
    y = rng.integers(0, 1 << K.WORLD_BITS, 5000).astype(np.uint32)
    expect = K.spread_bits(x) | (K.spread_bits(y) << np.uint64(1))
    assert np.array_equal(K.morton(x, y), expect)
    assert K.morton(x[:0], y[:0]).shape == (0,)


def test_attribute_columns_round_trip(cols: dict, index: PointIndex) -> None:
    back = index.to_arrays()
    order = np.argsort(cols["ids"])
    pos = np.argsort(back["ids"])
    for name in ("region", "section", "division", "size", "hazardous", "risk_band"):
        assert np.array_equal(np.asarray(back[name])[pos], np.asarray(cols[name])[order]), name
    assert back["hazardous"].dtype == bool


def test_whole_country_at_low_zoom_with_filters(cols: dict, index: PointIndex) -> None:
    """Low zoom: nearly every block lies inside the box and within one cell (the kernel's
    fast path); a box edge through the data sends the blocks it cuts point by point."""
    rng = np.random.default_rng(77)
    for bbox in ((45.0, 39.0, 89.0, 57.0), (60.0, 42.0, 77.0, 50.0), (76.8, 43.0, 77.0, 43.5)):
        for zoom in (3, 4, 5, 6, 7):
            f = Filters() if zoom == 3 else random_filters(rng, cols)
            try:
                r = index.query(bbox, zoom, f)
            except InvalidViewport:
                continue
            expect = reference_mask(cols, f, bbox)
            assert r.total == int(expect.sum())
            assert result_cells(cols, index, r) == reference_cells(cols, expect, r.level)
            counts = dict(zip(r.keys.tolist(), r.band_counts.tolist(), strict=True))
            shift = np.uint32(K.WORLD_BITS - r.level)
            keys = K.morton(K.to_gx(cols["lon"]) >> shift, K.to_gy(cols["lat"]) >> shift)
            for key, bands in counts.items():
                members = expect & (keys == key)
                assert bands == np.bincount(cols["risk_band"][members], minlength=4).tolist()
