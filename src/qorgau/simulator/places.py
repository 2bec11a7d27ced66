"""Region polygons and vectorised point sampling inside them (shapely 2 `contains_xy`)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from qorgau.simulator.constants import CITIES, CITY_SIGMA_DEG, UNIFORM_SHARE


@cache
def region_shapes() -> dict[str, BaseGeometry]:
    """The 20 region polygons of the packaged map (feature 0, the country, is skipped)."""
    path = files("qorgau.geo").joinpath("data", "kz-regions.geojson")
    collection = json.loads(path.read_text(encoding="utf-8"))
    shapes: dict[str, BaseGeometry] = {}
    for feature in collection["features"]:
        props = feature["properties"]
        if props.get("type") == "country":
            continue
        geom = shape(feature["geometry"])
        shapely.prepare(geom)
        shapes[props["iso"]] = geom
    return shapes


def region_kind(iso: str) -> str:
    return "city" if iso in ("KZ-71", "KZ-75", "KZ-79") else "region"


def _candidates(rng: np.random.Generator, iso: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw n candidate points: most around the region's cities, the rest uniform in its bbox."""
    minx, miny, maxx, maxy = region_shapes()[iso].bounds
    cities = np.array(CITIES[iso], dtype=float)
    pick = rng.choice(len(cities), size=n, p=cities[:, 2] / cities[:, 2].sum())
    sigma = CITY_SIGMA_DEG[region_kind(iso)]
    x = cities[pick, 0] + rng.normal(0, sigma, n) * rng.exponential(1.0, n)
    y = cities[pick, 1] + rng.normal(0, sigma * 0.7, n) * rng.exponential(1.0, n)
    uniform = rng.random(n) < UNIFORM_SHARE
    x[uniform] = rng.uniform(minx, maxx, uniform.sum())
    y[uniform] = rng.uniform(miny, maxy, uniform.sum())
    return x, y


def sample_points(rng: np.random.Generator, iso: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n points inside the region polygon, clustered like real settlement density."""
    geom = region_shapes()[iso]
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    have = 0
    while have < n:
        x, y = _candidates(rng, iso, max(2 * (n - have), 16))
        inside = shapely.contains_xy(geom, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        have += int(inside.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def scatter_near(
    rng: np.random.Generator, iso: str, x0: np.ndarray, y0: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points near (x0, y0) (spread sigma degrees, per point) inside the region; a point that
    keeps landing outside falls back to its origin, which is inside."""
    geom = region_shapes()[iso]
    sig = np.broadcast_to(np.asarray(sigma, dtype=float), x0.shape)
    x, y = x0.copy(), y0.copy()
    todo = np.ones(len(x0), dtype=bool)
    for attempt in range(8):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        spread = sig[idx] / (attempt + 1)
        cx = x0[idx] + rng.normal(0, spread, len(idx))
        cy = y0[idx] + rng.normal(0, spread * 0.7, len(idx))
        inside = shapely.contains_xy(geom, cx, cy)
        x[idx[inside]], y[idx[inside]] = cx[inside], cy[inside]
        todo[idx[inside]] = False
    return x, y
