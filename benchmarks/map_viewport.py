"""Digital Map of Enterprises: viewport clustering over 500 K synthetic points.

Figures: index build (cold start), process start (import + numba cache load + build + first
query, fresh interpreter), viewport request p50/p95 (query + JSON) over 500 random viewports at
zoom 4..16 with random filters, payload max/p95. Baselines in the same run: (a) sending every
filtered point (filter + serialise), (b) supercluster 8 in Node, unfiltered.

Run: .venv/bin/python benchmarks/map_viewport.py [--points 500000] [--queries 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from qorgau.geo.cluster import PointIndex, warm_up  # noqa: E402
from qorgau.geo.filters import (  # noqa: E402
    OKED_SECTIONS,
    REGION_CODES,
    RISK_BANDS,
    SIZE_BANDS,
    Filters,
)

SEED = 20251126
CITIES = (  # lon, lat, share of points, spread (degrees)
    (76.89, 43.24, 0.22, 0.10),  # Almaty
    (71.43, 51.17, 0.18, 0.08),  # Astana
    (69.59, 42.32, 0.12, 0.08),  # Shymkent
    (73.10, 49.80, 0.08, 0.07),  # Karaganda
)
FLAGS = ("has_open_violation", "has_insurance_gap", "missing_equipment")
JS_DIR = ROOT / "benchmarks" / "js"


def synthesise(n: int, seed: int = SEED) -> dict:
    """Dense city clusters (two spreads: core and suburbs) plus uniform rural scatter."""
    rng = np.random.default_rng(seed)
    shares = np.array([c[2] for c in CITIES])
    which = rng.choice(len(CITIES) + 1, n, p=[*shares, 1 - shares.sum()])
    lon, lat = rng.uniform(46.5, 87.3, n), rng.uniform(40.6, 55.4, n)
    for k, (clon, clat, _, spread) in enumerate(CITIES):
        m = which == k
        sd = np.where(rng.random(m.sum()) < 0.6, spread / 4, spread)
        lon[m] = clon + rng.normal(0, 1, m.sum()) * sd / np.cos(np.radians(clat))
        lat[m] = clat + rng.normal(0, 1, m.sum()) * sd
    region_codes = np.array([int(c[3:]) for c in REGION_CODES], np.uint8)
    return {
        "ids": rng.permutation(n).astype(np.int64) + 100_000_000_000,
        "lon": lon,
        "lat": lat,
        "region": region_codes[rng.integers(0, len(region_codes), n)],
        "section": rng.integers(1, 22, n).astype(np.uint8),
        "division": rng.integers(1, 100, n).astype(np.uint8),
        "size": rng.choice(4, n, p=[0.7, 0.2, 0.08, 0.02]).astype(np.uint8),
        "hazardous": rng.random(n) < 0.1,
        "risk_band": rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05]).astype(np.uint8),
        "risk_score": rng.gamma(2.0, 20.0, n).astype(np.float32),
        "flags": {f: rng.random(n) < p for f, p in zip(FLAGS, (0.05, 0.3, 0.1), strict=True)},
    }


def random_filters(rng: np.random.Generator, ids: np.ndarray) -> Filters:
    def pick(values: list[str], p: float) -> tuple[str, ...]:
        if rng.random() > p:
            return ()
        return tuple(rng.choice(values, int(rng.integers(1, 4)), replace=False).tolist())

    activities = [*OKED_SECTIONS, *(f"{d:02d}" for d in range(1, 100))]
    search = None
    if rng.random() < 0.1:  # a BIN/name search that matched up to 20 K enterprises
        search = tuple(rng.choice(ids, int(rng.integers(1, 20_000)), replace=False).tolist())
    return Filters(
        regions=pick(list(REGION_CODES), 0.3),
        activities=pick(activities, 0.3),
        sizes=pick(list(SIZE_BANDS), 0.3),
        risk_bands=pick(list(RISK_BANDS), 0.3),
        hazardous=None if rng.random() < 0.7 else bool(rng.random() < 0.5),
        ids=search,
        flags={f: True for f in FLAGS if rng.random() < 0.15},
    )


def random_viewports(rng: np.random.Generator, cols: dict, k: int) -> list[tuple]:
    """Screens of 800×600 .. 1920×1080 px at zoom 4..16, centred on a random enterprise
    (so dense areas are visited as often as users do) or, one in five, anywhere in the country."""
    out = []
    for _ in range(k):
        z = int(rng.integers(4, 17))
        if rng.random() < 0.8:
            i = int(rng.integers(0, len(cols["lon"])))
            lon, lat = float(cols["lon"][i]), float(cols["lat"][i])
        else:
            lon, lat = float(rng.uniform(47, 87)), float(rng.uniform(41, 55))
        w_px, h_px = rng.uniform(800, 1920), rng.uniform(600, 1080)
        deg_px = 360.0 / (256 * 2**z)
        hw, hh = w_px / 2 * deg_px, h_px / 2 * deg_px * np.cos(np.radians(lat))
        out.append(
            (max(lon - hw, -180), max(lat - hh, -85), min(lon + hw, 180), min(lat + hh, 85), z)
        )
    return out


def q(xs: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(xs), p))


def measure_build(cols: dict) -> tuple[PointIndex, float]:
    t0 = time.perf_counter()
    index = PointIndex.from_arrays(**cols)
    return index, time.perf_counter() - t0


def measure_process_start(n: int) -> dict:
    """A fresh interpreter: import, kernel (numba cache) load, build from a saved dump, 1 query."""
    with tempfile.TemporaryDirectory() as tmp:
        cols = synthesise(n)
        flat = {k: v for k, v in cols.items() if k != "flags"}
        flat.update({f"flag_{k}": v for k, v in cols["flags"].items()})
        np.savez(Path(tmp) / "dump.npz", **flat)
        code = f"""
import time, json; t0 = time.perf_counter()
import numpy as np
from qorgau.geo.cluster import PointIndex, warm_up
from qorgau.geo.filters import Filters
t1 = time.perf_counter(); warm = warm_up(); t2 = time.perf_counter()
d = np.load({str(Path(tmp) / "dump.npz")!r})
cols = {{k: d[k] for k in d.files if not k.startswith("flag_")}}
cols["flags"] = {{k[5:]: d[k] for k in d.files if k.startswith("flag_")}}
t3 = time.perf_counter(); idx = PointIndex.from_arrays(**cols); t4 = time.perf_counter()
idx.query((46, 40, 88, 56), 5, Filters()).to_json_bytes(); t5 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "kernel": t2 - t1, "load_dump": t3 - t2,
                  "build": t4 - t3, "first_query": t5 - t4, "total": t5 - t0}}))
"""
        env_path = str(ROOT / "src")
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        )
        return json.loads(out.stdout.strip().splitlines()[-1])


def measure_queries(index: PointIndex, viewports: list[tuple], filters: list[Filters]) -> dict:
    times, sizes = [], []
    for (w, s, e, n, z), f in zip(viewports, filters, strict=True):
        t0 = time.perf_counter()
        body = index.query((w, s, e, n), z, f).to_json_bytes()
        times.append((time.perf_counter() - t0) * 1e3)
        sizes.append(len(body))
    zooms = np.array([v[4] for v in viewports])
    per_zoom = {
        int(z): round(q([t for t, zz in zip(times, zooms, strict=True) if zz == z], 95), 2)
        for z in np.unique(zooms)
    }
    return {
        "p50_ms": q(times, 50),
        "p95_ms": q(times, 95),
        "max_ms": max(times),
        "max_bytes": max(sizes),
        "p95_bytes": q(sizes, 95),
        "p95_ms_by_zoom": per_zoom,
    }


def naive_mask(cols: dict, f: Filters) -> np.ndarray:
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
    return m


def measure_naive(cols: dict, filters: list[Filters]) -> dict:
    """Baseline (a): every filtered point as [id, lon, lat, risk] rows, clustered by the client."""
    times, sizes = [], []
    for f in filters:
        t0 = time.perf_counter()
        m = naive_mask(cols, f)
        rows = zip(
            cols["ids"][m].tolist(),
            np.round(cols["lon"][m], 5).tolist(),
            np.round(cols["lat"][m], 5).tolist(),
            cols["risk_band"][m].tolist(),
            strict=True,
        )
        body = orjson.dumps({"points": list(rows)})
        times.append((time.perf_counter() - t0) * 1e3)
        sizes.append(len(body))
    return {
        "p50_ms": q(times, 50),
        "p95_ms": q(times, 95),
        "p50_bytes": q(sizes, 50),
        "max_bytes": max(sizes),
    }


def measure_supercluster(cols: dict, viewports: list[tuple]) -> dict | None:
    """Baseline (b): supercluster in Node over the same points (no filters: it has none)."""
    if not (JS_DIR / "node_modules" / "supercluster").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, capture_output=True
        )
    with tempfile.TemporaryDirectory() as tmp:
        pts, vps = Path(tmp) / "points.f64", Path(tmp) / "viewports.json"
        np.column_stack([cols["lon"], cols["lat"]]).astype("<f8").tofile(pts)
        vps.write_text(json.dumps(viewports))
        out = subprocess.run(
            ["node", "--max-old-space-size=4096", "supercluster_bench.mjs", str(pts), str(vps)],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def emit(lines: list[tuple[str, float, str, float, str]], details: dict, append: bool) -> None:
    try:
        from benchmarks._common import report  # written by another engineer; may be absent
    except ImportError:
        report = None
    text = []
    for figure, value, unit, base, base_unit in lines:
        if report is not None:
            report(figure, value, unit, base, base_unit)
            continue
        ratio = base / value if value else float("inf")
        line = (
            f"{figure}: {value:.4g} {unit} (baseline: {base:.4g} {base_unit}, ratio ×{ratio:.3g})"
        )
        print(line)
        text.append(f"- {line}")
    print(json.dumps(details, indent=1, default=float))
    if report is None and append:
        _append_markdown(text, details)


def _append_markdown(text: list[str], details: dict) -> None:
    machine = f"{platform.node()} · {platform.machine()} · {platform.processor() or '?'}"
    section = [
        "",
        f"## map_viewport — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"Machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        "script: `benchmarks/map_viewport.py`.",
        "",
        *text,
        "",
        "```json",
        json.dumps(details, indent=1, default=float),
        "```",
    ]
    path = ROOT / "docs" / "benchmarks.md"
    with path.open("a", encoding="utf-8") as fh:
        if path.stat().st_size == 0:
            fh.write("# Benchmarks\n")
        fh.write("\n".join(section) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=500_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--no-append", action="store_true", help="print only")
    args = ap.parse_args()
    warm_up()
    cols = synthesise(args.points)
    index, build_s = measure_build(cols)
    start = measure_process_start(args.points)
    rng = np.random.default_rng(SEED + 1)
    viewports = random_viewports(rng, cols, args.queries)
    filters = [random_filters(rng, cols["ids"]) for _ in viewports]
    ours = measure_queries(index, viewports, filters)
    unfiltered = measure_queries(index, viewports, [Filters()] * len(viewports))
    naive = measure_naive(cols, filters[:40])
    sc = measure_supercluster(cols, viewports)
    details = {
        "points": args.points,
        "queries": args.queries,
        "build_s": build_s,
        "process_start": start,
        "filtered": ours,
        "unfiltered": unfiltered,
        "naive": naive,
        "supercluster": sc,
    }
    emit(
        [
            ("map_index_build", build_s, "s", sc["load_ms"] / 1e3, "s supercluster load"),
            ("map_process_start", start["total"], "s", sc["load_ms"] / 1e3, "s supercluster load"),
            (
                "map_viewport_p95_filtered",
                ours["p95_ms"],
                "ms",
                naive["p95_ms"],
                "ms naive all-points",
            ),
            (
                "map_viewport_p95_unfiltered",
                unfiltered["p95_ms"],
                "ms",
                sc["p95_ms"],
                "ms supercluster getClusters",
            ),
            (
                "map_payload_max",
                ours["max_bytes"] / 1e3,
                "KB",
                naive["max_bytes"] / 1e3,
                "KB naive all-points",
            ),
            (
                "map_payload_p95",
                ours["p95_bytes"] / 1e3,
                "KB",
                sc["p95_bytes"] / 1e3,
                "KB supercluster GeoJSON",
            ),
        ],
        details,
        append=not args.no_append,
    )


if __name__ == "__main__":
    main()
